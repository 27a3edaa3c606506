package githubtest

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"
)

// Response is a scripted answer, given instead of the normal one.
type Response struct {
	// Status is the HTTP status to answer with; 0 with none of Hang,
	// Disconnect and Process lets the request through (after Delay).
	Status int
	// Headers are set on the answer, e.g. {"Retry-After": "7"}.
	Headers map[string]string
	// Body is sent as is (JSON when it looks like JSON).
	Body string
	// Delay is waited before answering (or until the client gives up).
	Delay time.Duration
	// Hang never answers: the handler blocks until the client gives up or the server closes.
	Hang bool
	// Disconnect drops the connection without an answer.
	Disconnect bool
	// Process lets the request take effect first (a dispatch creates its
	// run) and then answers as scripted: the 5xx or the timeout after which
	// a client cannot know what happened.
	Process bool
}

// Script queues responses for route, consumed one per request, oldest
// first, before the normal handling (and before the credentials are
// checked). AnyRoute's queue is used when route's own is empty.
func (s *Server) Script(route Route, rs ...Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scripts[route] = append(s.scripts[route], rs...)
}

// FailNext makes the next n requests to route answer status with a GitHub error message.
func (s *Server) FailNext(route Route, n int, status int) {
	rs := make([]Response, n)
	for i := range rs {
		rs[i] = Response{Status: status, Body: `{"message": "scripted failure: ` + http.StatusText(status) + `"}`}
	}
	s.Script(route, rs...)
}

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
func (s *Server) Pending(route Route) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.scripts[route])
}

// nextScripted pops route's next scripted response; s.mu must be held.
func (s *Server) nextScripted(route Route) (Response, bool) {
	for _, r := range []Route{route, AnyRoute} {
		if q := s.scripts[r]; len(q) > 0 {
			s.scripts[r] = q[1:]
			return q[0], true
		}
	}
	return Response{}, false
}

// play answers with a scripted response; false means handle the request
// normally. handle is the normal handling, for Process.
func (s *Server) play(w http.ResponseWriter, r *http.Request, resp Response, handle func(http.ResponseWriter)) bool {
	if resp.Delay > 0 {
		t := time.NewTimer(resp.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return true
		case <-s.closing:
			return true
		}
	}
	var processed *httptest.ResponseRecorder
	if resp.Process {
		processed = httptest.NewRecorder()
		handle(processed)
	}
	switch {
	case resp.Hang:
		select {
		case <-r.Context().Done():
		case <-s.closing:
		}
		return true
	case resp.Disconnect:
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			_ = conn.Close()
			return true
		}
		panic(http.ErrAbortHandler) // the server drops the connection
	case resp.Status == 0 && processed != nil:
		for k, v := range processed.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(processed.Code)
		_, _ = w.Write(processed.Body.Bytes())
		return true
	case resp.Status == 0:
		return false
	}
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	if w.Header().Get("Content-Type") == "" {
		if body := strings.TrimSpace(resp.Body); strings.HasPrefix(body, "{") || strings.HasPrefix(body, "[") {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
		} else {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		}
	}
	w.WriteHeader(resp.Status)
	_, _ = w.Write([]byte(resp.Body))
	return true
}
