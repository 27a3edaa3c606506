package remote

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/rs/zerolog"
)

// MaxErrorBody caps how much of an error response is read: a proxy's error
// page can be large, and only its first lines say anything.
const MaxErrorBody = 64 << 10

// APIError is a non-2xx answer from a remote service. Each adapter's
// APIError embeds it and adds the errors.Is sentinels of its statuses.
type APIError struct {
	// Service names the remote service in the text: "Kosli", "GitHub".
	Service string
	// Status is the HTTP status code.
	Status int
	// Message is the service's own explanation, summarised to one line (empty when the body said nothing).
	Message string
	// Endpoint is the method and the API path, e.g. "GET /api/v2/environments/cyber-dojo".
	// It never holds the host's credentials or the token.
	Endpoint string
	// Summary is what the adapter understood of the failure, written for a
	// person (what to check, or `Kosli has no environment "aws-beta" in org
	// "cyber-dojo"`); empty when it has nothing better than the status.
	Summary string
}

// Error implements error.
func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = "an empty body"
	}
	answer := fmt.Sprintf("%s answered %d to %s: %s", e.Service, e.Status, e.Endpoint, msg)
	if e.Summary == "" {
		return answer
	}
	return e.Summary + " (" + answer + ")"
}

// UnreachableError is a request that got no HTTP answer: the connection
// failed or broke, or the attempt ran past its timeout. Each adapter's
// UnreachableError embeds it.
type UnreachableError struct {
	// Service names the remote service in the text: "Kosli", "GitHub".
	Service string
	// Host is the service's base URL without credentials; empty when the service's name says enough.
	Host string
	// Endpoint is the method and API path, as in APIError.
	Endpoint string
	// Timeout is the per-attempt limit that ran out; zero when the connection failed instead.
	Timeout time.Duration
	// NotSent is true when the request cannot have reached the service (the
	// dial failed), which makes even a write safe to send again.
	NotSent bool
	cause   string // the transport's explanation, scrubbed
	err     error
}

// Unreachable is the error of an attempt to endpoint that got no answer;
// actx is the attempt's context, whose deadline is timeout. scrub takes the
// adapter's credentials out of the transport's explanation.
func Unreachable(actx context.Context, service, host, endpoint string, timeout time.Duration, err error, scrub func(string) string) UnreachableError {
	un := UnreachableError{Service: service, Host: host, Endpoint: endpoint, NotSent: NotSent(err), err: err}
	if errors.Is(actx.Err(), context.DeadlineExceeded) || TimedOut(err) {
		un.Timeout = timeout
	} else {
		un.cause = scrub(Cause(err))
	}
	return un
}

// Error implements error.
func (e *UnreachableError) Error() string {
	who := e.Service
	if e.Host != "" {
		who += " at " + e.Host
	}
	if e.Timeout > 0 {
		return fmt.Sprintf("%s did not answer %s within %s", who, e.Endpoint, e.Timeout)
	}
	return fmt.Sprintf("%s could not be reached (%s): %s", who, e.Endpoint, e.cause)
}

// Unwrap gives errors.Is access to the transport error (context.DeadlineExceeded, syscall.ECONNREFUSED, …).
func (e *UnreachableError) Unwrap() error { return e.err }

// Abandoned is the error of a call to endpoint whose caller gave up
// (shutdown, its own deadline): not the service's doing, and not worth a
// retry. It is nil while ctx lives. prefix names the adapter: "kosli".
func Abandoned(ctx context.Context, prefix, endpoint string) error {
	if ctx.Err() == nil {
		return nil
	}
	return fmt.Errorf("%s: %s abandoned: %w", prefix, endpoint, ctx.Err())
}

// Summary is a message kept from an answer: one line, cut to MaxMessage.
func Summary(s string) string { return Clip(OneLine(s)) }

// DescribeURL shows a rejected URL without what may be a credential in it
// (user info, a query).
func DescribeURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable)"
	}
	u.RawQuery, u.Fragment = "", ""
	return u.Redacted()
}

// Recorder reports every attempt an adapter sent: to Observe, for the
// request metrics, and as one log line.
type Recorder struct {
	// Observe, when set, is told the attempt's route, status (0 when no answer came) and duration.
	Observe func(route string, status int, d time.Duration)
	// Message is the log line's message, e.g. "kosli request".
	Message string
}

// Record reports attempt n of route, sent, answered with status (0 for
// none) after took, on the log event ev (usually a debug line), which names
// it by endpoint.
func (r Recorder) Record(ev *zerolog.Event, route, endpoint string, n, status int, took time.Duration, err error) {
	if r.Observe != nil {
		r.Observe(route, status, took)
	}
	ev = ev.Str("endpoint", endpoint).Int("attempt", n).Int("status", status).Dur("took", took)
	if err != nil {
		ev = ev.Err(err)
	}
	ev.Msg(r.Message)
}
