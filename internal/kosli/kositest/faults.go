package kositest

import (
	"net/http"
	"strings"
	"time"
)

// Response is a scripted answer, given instead of the normal one.
type Response struct {
	// Status is the HTTP status to answer with.
	Status int
	// Headers are set on the answer, e.g. {"Retry-After": "7"}.
	Headers map[string]string
	// Body is sent as is; Content-Type is JSON when it looks like JSON, HTML when it looks like HTML.
	Body string
	// Delay is waited before answering (or until the client gives up).
	Delay time.Duration
	// Hang never answers: the handler blocks until the client gives up or the server closes.
	Hang bool
	// Disconnect drops the connection without an answer.
	Disconnect bool
	// PassThrough, after any Delay, lets the request be handled normally (a slow success).
	PassThrough bool
}

// Hang is the scripted response that never comes.
func Hang() Response { return Response{Hang: true} }

// Script queues responses for route, consumed one per request, oldest first,
// before the normal handling. AnyRoute's queue is used when route's own is empty.
func (s *Server) Script(route Route, rs ...Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scripts[route] = append(s.scripts[route], rs...)
}

// FailNext makes the next n requests to route answer status with a JSON message.
func (s *Server) FailNext(route Route, n int, status int) {
	rs := make([]Response, n)
	for i := range rs {
		rs[i] = Response{Status: status, Body: `{"message": "scripted failure: ` + http.StatusText(status) + `"}`}
	}
	s.Script(route, rs...)
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

// play answers with a scripted response; false means handle the request normally.
func (s *Server) play(w http.ResponseWriter, r *http.Request, resp Response) bool {
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
	switch {
	case resp.Hang:
		select {
		case <-r.Context().Done():
		case <-s.closing:
		}
		return true
	case resp.Disconnect:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return true
			}
		}
		panic(http.ErrAbortHandler) // the server drops the connection
	case resp.PassThrough:
		return false
	}
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	if w.Header().Get("Content-Type") == "" {
		body := strings.TrimSpace(resp.Body)
		switch {
		case strings.HasPrefix(body, "{") || strings.HasPrefix(body, "[") || strings.HasPrefix(body, `"`):
			w.Header().Set("Content-Type", "application/json")
		case strings.HasPrefix(body, "<"):
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
		default:
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		}
	}
	status := resp.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(resp.Body))
	return true
}
