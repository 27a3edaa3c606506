package githubtest

import (
	"net/http"
	"strconv"
	"time"

	"github.com/release-bot/release-bot/internal/fakekit"
)

// Response is a scripted answer, given instead of the normal one. A
// Response without a Status, and with none of Hang, Disconnect and Process,
// lets the request through (after Delay), as PassThrough does; a body that
// looks like JSON is sent as application/json; charset=utf-8.
type Response = fakekit.Response

// Script queues responses for route, consumed one per request, oldest
// first, before the normal handling (and before the credentials are
// checked). AnyRoute's queue is used when route's own is empty.
func (s *Server) Script(route Route, rs ...Response) { s.kit.Script(route, rs...) }

// SetLatency makes every later request wait d before it is answered, the
// round trip to the real GitHub; scripted responses wait it on top of their
// Delay. 0 turns it off.
func (s *Server) SetLatency(d time.Duration) { s.kit.SetLatency(d) }

// FailNext makes the next n requests to route answer status with a GitHub error message.
func (s *Server) FailNext(route Route, n int, status int) { s.kit.FailNext(route, n, status) }

// SecondaryLimit is the 403 GitHub answers when a secondary rate limit is
// hit, asking for retryAfter seconds (none when 0).
func SecondaryLimit(retryAfter int) Response {
	r := Response{
		Status: http.StatusForbidden,
		Body: `{"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",` +
			` "documentation_url": "` + docsLimits + `#about-secondary-rate-limits"}`,
	}
	if retryAfter > 0 {
		r.Headers = map[string]string{"Retry-After": strconv.Itoa(retryAfter)}
	}
	return r
}

// PrimaryLimit is the 403 GitHub answers when the primary rate limit is
// spent until reset.
func PrimaryLimit(reset time.Time) Response {
	return Response{
		Status: http.StatusForbidden,
		Headers: map[string]string{
			"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0", "X-RateLimit-Used": "5000",
			"X-RateLimit-Reset": strconv.FormatInt(reset.Unix(), 10), "X-RateLimit-Resource": "core",
		},
		Body: `{"message": "API rate limit exceeded for user.", "documentation_url": "` + docsLimits + `#about-primary-rate-limits"}`,
	}
}

// Pending says how many scripted responses are still queued for route.
func (s *Server) Pending(route Route) int { return s.kit.Pending(route) }
