package kositest

import (
	"net/http"
	"strconv"
	"time"

	"github.com/release-bot/release-bot/internal/fakekit"
)

// Response is a scripted answer, given instead of the normal one. A
// Response without a Status answers 200 (unless PassThrough or Process say
// otherwise); a body that looks like JSON is sent as application/json.
type Response = fakekit.Response

// Hang is the scripted response that never comes.
func Hang() Response { return Response{Hang: true} }

// Script queues responses for route, consumed one per request, oldest first,
// before the normal handling. AnyRoute's queue is used when route's own is empty.
func (s *Server) Script(route Route, rs ...Response) { s.kit.Script(route, rs...) }

// SetLatency makes every later request wait d before it is answered, the
// round trip to the real Kosli; scripted responses wait it on top of their
// Delay. 0 turns it off.
func (s *Server) SetLatency(d time.Duration) { s.kit.SetLatency(d) }

// FailNext makes the next n requests to route answer status with a JSON message.
func (s *Server) FailNext(route Route, n int, status int) { s.kit.FailNext(route, n, status) }

// Pending says how many scripted responses are still queued for route.
func (s *Server) Pending(route Route) int { return s.kit.Pending(route) }

// Clear drops the responses still scripted for route.
func (s *Server) Clear(route Route) { s.kit.Clear(route) }

// FailNextAfter is FailNext with a Retry-After header of retryAfter (whole seconds, rounded up).
func (s *Server) FailNextAfter(route Route, n int, status int, retryAfter time.Duration) {
	rs := make([]Response, n)
	for i := range rs {
		rs[i] = Response{
			Status:  status,
			Headers: map[string]string{"Retry-After": retryAfterHeader(retryAfter)},
			Body:    `{"message": "scripted failure: ` + http.StatusText(status) + `"}`,
		}
	}
	s.Script(route, rs...)
}

// conflict is a lock the fake pretends another writer holds on a trail.
type conflict struct {
	left       int
	retryAfter time.Duration
}

// conflictMessage is what a locked trail answers. The wording is *inferred*:
// the CLI retries a 409 as "a lock conflict" (kosli-dev/cli
// internal/requests/requests.go, customCheckRetry) and its own stand-in for
// the server answers "resource temporarily locked" (requests_test.go).
const conflictMessage = "resource temporarily locked"

// ConflictNext makes the next n writes to trail (in any flow: beginning it,
// reporting an artifact into it, attesting in it) answer 409 with a
// Retry-After of retryAfter, as if another writer held the trail's lock.
// The refused writes are not recorded.
func (s *Server) ConflictNext(trail string, n int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n <= 0 {
		delete(s.conflicts, trail)
		return
	}
	s.conflicts[trail] = &conflict{left: n, retryAfter: retryAfter}
}

// conflicted answers 409 when trail is locked, consuming one conflict; s.mu must be held.
func (s *Server) conflicted(w http.ResponseWriter, trail string) bool {
	c, ok := s.conflicts[trail]
	if !ok {
		return false
	}
	if c.left--; c.left <= 0 {
		delete(s.conflicts, trail)
	}
	w.Header().Set("Retry-After", retryAfterHeader(c.retryAfter))
	writeMessage(w, http.StatusConflict, conflictMessage)
	return true
}

func retryAfterHeader(d time.Duration) string {
	return strconv.Itoa(int((d + time.Second - 1) / time.Second))
}
