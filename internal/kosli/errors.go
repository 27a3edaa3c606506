package kosli

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/release-bot/release-bot/internal/remote"
	"github.com/release-bot/release-bot/internal/retry"
)

// Sentinels that an *APIError matches with errors.Is, by status code.
var (
	// ErrUnauthorized is a 401: the token is missing, wrong or revoked.
	ErrUnauthorized = errors.New("Kosli rejected the API token: check KOSLI_API_TOKEN")
	// ErrForbidden is a 403: the token is valid but has no access to the org.
	ErrForbidden = errors.New("the Kosli API token lacks access to the org")
	// ErrNotFound is a 404: no such environment, snapshot, flow, trail or artifact.
	ErrNotFound = errors.New("Kosli has no such thing")
	// ErrRateLimited is a 429.
	ErrRateLimited = errors.New("Kosli is rate limiting this client")
	// ErrUnavailable is any 5xx.
	ErrUnavailable = errors.New("Kosli is unavailable")
)

// APIError is a non-2xx answer from Kosli. Its text stays readable whatever
// the body was: Kosli's JSON, a bare JSON string, a proxy's HTML page, plain
// text or nothing at all. Endpoint is the method and API path, org
// included; Summary is set for 401, 403 and a 404 the client can phrase.
type APIError struct {
	remote.APIError
	// RetryAfter is the wait the server asked for (Retry-After), zero when it asked for none.
	RetryAfter time.Duration
}

// Is matches the sentinel that goes with the status code.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.Status == 401
	case ErrForbidden:
		return e.Status == 403
	case ErrNotFound:
		return e.Status == 404
	case ErrRateLimited:
		return e.Status == 429
	case ErrUnavailable:
		return e.Status >= 500 && e.Status <= 599
	}
	return false
}

// UnreachableError is a request that got no HTTP answer: the connection
// failed, or the attempt ran past its timeout. Its Host is Kosli's base
// URL, without any credentials it may have carried.
type UnreachableError struct{ remote.UnreachableError }

// DecodeError is a 2xx answer whose body is not what the endpoint returns.
type DecodeError struct {
	// Endpoint is the method and API path, as in APIError.
	Endpoint string
	// Want names what was expected, e.g. "an environment diff".
	Want string
	// Problem says what was found instead.
	Problem string
	err     error
}

// Error implements error.
func (e *DecodeError) Error() string {
	return fmt.Sprintf("Kosli answered %s with something that is not %s: %s", e.Endpoint, e.Want, e.Problem)
}

// Unwrap exposes the decoder's error (release.ErrMalformedDiff for a diff).
func (e *DecodeError) Unwrap() error { return e.err }

// ValidationError is an argument the client refuses to send because Kosli
// would refuse it too; it is found before any request is made.
type ValidationError struct {
	// Field names the argument, e.g. "trail name".
	Field string
	// Value is the rejected value.
	Value string
	// Rule says what a valid value looks like.
	Rule string
}

// Error implements error.
func (e *ValidationError) Error() string {
	return fmt.Sprintf("kosli: %s %q is not valid: %s", e.Field, e.Value, e.Rule)
}

// retryable is the one classifier of this adapter, used by retry.Do: no
// answer at all, a rate limit, a conflict (retried by the Kosli CLI too) and
// server errors other than 501 Not Implemented may succeed on another try;
// other 4xx, decoding problems and validation errors will not.
func retryable(err error) retry.Decision {
	var api *APIError
	if errors.As(err, &api) {
		s := api.Status
		if s == 429 || s == 409 || (s >= 500 && s != 501) {
			return retry.Decision{Retry: true, After: api.RetryAfter}
		}
		return retry.Stop
	}
	var un *UnreachableError
	if errors.As(err, &un) {
		return retry.Again
	}
	return retry.Stop
}

// retryableWrite narrows retryable for writes. A write is repeated only when
// it certainly did not take effect: a 429 or 503 (refused before any work is
// done) or a connection that was never made. A timeout or a 500 is ambiguous
// (Kosli may have recorded the attestation before failing to answer), and a
// second POST would record a second attestation, so those are not repeated.
func retryableWrite(err error) retry.Decision {
	var api *APIError
	var un *UnreachableError
	switch {
	case errors.As(err, &api) && (api.Status == 429 || api.Status == 503):
	case errors.As(err, &un) && un.NotSent:
	default:
		return retry.Stop
	}
	return retryable(err)
}

var htmlTitle = regexp.MustCompile(`(?is)<title[^>]*>(.*?)</title>`)

// messageOf reads an error body into one readable line.
func messageOf(body []byte, contentType string) string {
	text := strings.TrimSpace(string(body))
	if text == "" {
		return ""
	}
	switch text[0] {
	case '{':
		var obj map[string]json.RawMessage
		if json.Unmarshal(body, &obj) == nil {
			return remote.Clip(jsonMessage(obj, text))
		}
	case '"':
		var s string
		if json.Unmarshal(body, &s) == nil {
			return remote.Summary(s)
		}
	}
	if text[0] == '<' || strings.Contains(strings.ToLower(contentType), "html") {
		if m := htmlTitle.FindStringSubmatch(text); m != nil && strings.TrimSpace(m[1]) != "" {
			return remote.Clip(fmt.Sprintf("an HTML error page %q", remote.OneLine(m[1])))
		}
		return "an HTML error page"
	}
	return remote.Summary(text)
}

// jsonMessage reads {"message": ..., "errors": {...}}. Flask appends a long
// "You have requested this URI ..." hint to its 404 messages; the CLI drops it, and so does this.
func jsonMessage(obj map[string]json.RawMessage, raw string) string {
	var msg string
	if m, ok := obj["message"]; !ok || json.Unmarshal(m, &msg) != nil {
		return remote.OneLine(raw)
	}
	msg, _, _ = strings.Cut(msg, "You have requested")
	msg = strings.TrimSpace(remote.OneLine(msg))
	var fields map[string]json.RawMessage
	if e, ok := obj["errors"]; ok && json.Unmarshal(e, &fields) == nil && len(fields) > 0 {
		keys := make([]string, 0, len(fields))
		for k := range fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			var s string
			if json.Unmarshal(fields[k], &s) != nil {
				s = string(fields[k])
			}
			parts = append(parts, k+": "+remote.OneLine(s))
		}
		msg += " (" + strings.Join(parts, "; ") + ")"
	}
	return msg
}

// describe says what a body that failed to decode looks like, without quoting all of it.
func describe(body []byte) string {
	text := strings.TrimSpace(string(body))
	switch {
	case text == "":
		return "an empty body"
	case text[0] == '<':
		return "what looks like HTML"
	case text[0] == '{':
		return "a JSON object"
	case text[0] == '[':
		return "a JSON array"
	case text[0] == '"':
		return "a JSON string"
	case text == "null":
		return "JSON null"
	}
	return remote.Clip(fmt.Sprintf("%.60q", text))
}
