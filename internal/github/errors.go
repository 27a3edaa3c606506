package github

import (
	"errors"
	"fmt"
	"time"

	"github.com/release-bot/release-bot/internal/remote"
	"github.com/release-bot/release-bot/internal/retry"
)

// Sentinels that an *APIError (or *RateLimitError) matches with errors.Is.
var (
	// ErrUnauthorized is a 401: the credentials are wrong, expired or revoked.
	ErrUnauthorized = errors.New("GitHub rejected the credentials")
	// ErrForbidden is a 403 that is not a rate limit: the credentials lack a permission.
	ErrForbidden = errors.New("the GitHub credentials lack a permission")
	// ErrNotFound is a 404: no such repository, workflow or run, or one the credentials cannot see.
	ErrNotFound = errors.New("GitHub has no such thing")
	// ErrInvalid is a 400 or 422: GitHub refused what was sent (an undeclared input, an unknown ref).
	ErrInvalid = errors.New("GitHub refused the request as invalid")
	// ErrRateLimited is a primary or secondary rate limit (*RateLimitError).
	ErrRateLimited = errors.New("GitHub is rate limiting these credentials")
)

// APIError is a non-2xx answer from GitHub other than a rate limit. Its
// Message is GitHub's own explanation, e.g. `Unexpected inputs provided:
// ["x"]`; its Endpoint the method and the path below the base URL, e.g.
// "POST /repos/acme/app/actions/workflows/promote.yml/dispatches"; its
// Summary says what to check, written for a person ("" when the status says
// enough).
type APIError struct{ remote.APIError }

// Is matches the sentinel that goes with the status code.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.Status == 401
	case ErrForbidden:
		return e.Status == 403
	case ErrNotFound:
		return e.Status == 404
	case ErrInvalid:
		return e.Status == 400 || e.Status == 422
	}
	return false
}

// RateLimitError is a 403 or 429 that says the credentials are over a rate
// limit: the primary one (x-ratelimit-remaining: 0, until Reset) or a
// secondary one (too many requests at once or per minute).
// https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api
type RateLimitError struct {
	// Status is 403 or 429.
	Status int
	// Message is GitHub's explanation.
	Message string
	// Endpoint is as in APIError.
	Endpoint string
	// Reset is when the primary limit resets (zero when GitHub did not say the primary limit was spent).
	Reset time.Time
	// RetryAfter is the wait GitHub asked for (retry-after, else until Reset); zero when it named none.
	RetryAfter time.Duration
	// Secondary is true for a secondary rate limit.
	Secondary bool
}

// Error implements error.
func (e *RateLimitError) Error() string {
	kind := "primary"
	if e.Secondary {
		kind = "secondary"
	}
	wait := "no wait named"
	if e.RetryAfter > 0 {
		wait = "retry after " + e.RetryAfter.String()
	}
	return fmt.Sprintf("GitHub's %s rate limit stopped %s (%d, %s): %s", kind, e.Endpoint, e.Status, wait, e.Message)
}

// Is matches ErrRateLimited.
func (e *RateLimitError) Is(target error) bool { return target == ErrRateLimited }

// UnreachableError is a request that got no HTTP answer: the connection
// failed or broke, or the attempt ran past its timeout.
type UnreachableError struct{ remote.UnreachableError }

// AmbiguousDispatchError is a dispatch whose fate is unknown: the POST timed
// out, the connection broke, or GitHub answered 5xx, so the workflow may or
// may not have started. The caller must not dispatch again: it looks for
// the run with FindRun or WaitForRun(Workflow, ReleaseID, Since) and, when
// none appears, tells people what to check.
type AmbiguousDispatchError struct {
	Workflow  Workflow
	ReleaseID string
	// Since is when the dispatch was sent: the time to look for the run from.
	Since time.Time
	err   error
}

// Error implements error.
func (e *AmbiguousDispatchError) Error() string {
	return fmt.Sprintf("GitHub may or may not have started %s for release %s; look for its run, do not dispatch again: %v",
		e.Workflow, e.ReleaseID, e.err)
}

// Unwrap exposes the failure that made the dispatch ambiguous.
func (e *AmbiguousDispatchError) Unwrap() error { return e.err }

// ValidationError is an argument the client refuses before sending anything.
type ValidationError struct {
	// Field names the argument, e.g. "workflow file".
	Field string
	// Rule says what a valid value looks like.
	Rule string
}

// Error implements error.
func (e *ValidationError) Error() string { return "github: " + e.Field + ": " + e.Rule }

// minLimitWait is the least wait after a rate limit that named none:
// GitHub asks for at least a minute.
const minLimitWait = time.Minute

// retryable is this adapter's one classifier, made per call because the
// wait after a rate limit that names none doubles within the call.
//
// Reads are retried after no answer, a 5xx other than 501, and a rate limit.
// Writes (dispatch, cancel) are retried only when GitHub certainly did not
// act on them: a rate limit (GitHub's limiter answers before the request is
// handled, and the documented remedy is to send it again after the wait) or
// a connection that was never made. After a timeout, a broken connection or
// a 5xx a write is not repeated: a second dispatch would start a second
// deployment.
//
// A rate limit is waited out as GitHub asks: retry-after, else until the
// primary limit resets, else a minute doubling. A wait longer than the
// policy's Max is not shortened but not taken either: the *RateLimitError,
// with its Reset, goes to the caller, who schedules by it.
func retryable(write bool, maxWait time.Duration) func(error) retry.Decision {
	unnamed := 0
	return func(err error) retry.Decision {
		var rl *RateLimitError
		if errors.As(err, &rl) {
			wait := rl.RetryAfter
			if wait <= 0 {
				wait = minLimitWait << unnamed
				unnamed++
			}
			if maxWait > 0 && wait > maxWait {
				return retry.Stop
			}
			return retry.Decision{Retry: true, After: wait}
		}
		var un *UnreachableError
		if errors.As(err, &un) {
			return retry.Decision{Retry: !write || un.NotSent}
		}
		var api *APIError
		if errors.As(err, &api) && !write && api.Status >= 500 && api.Status != 501 {
			return retry.Again
		}
		return retry.Stop
	}
}

// ambiguous reports whether a failed write may have taken effect.
func ambiguous(err error) bool {
	var api *APIError
	if errors.As(err, &api) {
		return api.Status >= 500
	}
	var un *UnreachableError
	if errors.As(err, &un) {
		return !un.NotSent
	}
	var rl *RateLimitError
	var v *ValidationError
	return !errors.As(err, &rl) && !errors.As(err, &v)
}
