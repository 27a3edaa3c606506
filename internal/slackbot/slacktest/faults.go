package slacktest

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Call is one request the fake received on a Web API method or a response URL.
type Call struct {
	// Method is the Web API method, or "response_url".
	Method string
	// Values are the form values, or the top-level fields of a JSON body
	// (strings as they are, anything else as JSON text). The token is removed.
	Values url.Values
	// Body is the raw body of a JSON request, nil for a form.
	Body json.RawMessage
	// Status is the HTTP status the fake answered.
	Status int
	// Error is the Slack error code answered ("" when ok).
	Error string
	// At is the Clock's time of arrival.
	At time.Time
}

func (c *Call) clone() Call {
	out := *c
	out.Values = maps.Clone(c.Values)
	for k, v := range out.Values {
		out.Values[k] = slices.Clone(v)
	}
	out.Body = slices.Clone(c.Body)
	return out
}

// fault is what a method is set to do wrong.
type fault struct {
	rateLimited int
	retryAfter  time.Duration
	failures    int
	failStatus  int
	delay       time.Duration
}

// faultLocked returns the method's fault, creating it. s.mu must be held.
func (s *Server) faultLocked(method string) *fault {
	f, ok := s.faults[method]
	if !ok {
		f = &fault{}
		s.faults[method] = f
	}
	return f
}

// RateLimit makes the next n calls of method (a Web API method, or
// "response_url") answer HTTP 429 with Retry-After in whole seconds,
// rounded up, as Slack does. slack-go turns that into *slack.RateLimitedError,
// or retries it with slack.OptionRetry.
func (s *Server) RateLimit(method string, n int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.faultLocked(method)
	f.rateLimited, f.retryAfter = n, retryAfter
}

// Fail makes the next n calls of method answer the HTTP status (a 5xx) with
// an HTML body, as Slack's edge does; slack-go returns slack.StatusCodeError.
func (s *Server) Fail(method string, n int, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.faultLocked(method)
	f.failures, f.failStatus = n, status
}

// Delay holds every later call of method for d before answering, until set
// back to 0. A held call ends early when its client gives up or the Server
// closes.
func (s *Server) Delay(method string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faultLocked(method).delay = d
}

// SetLatency holds every later call of every Web API method and response
// URL for d before answering, the round trip to the real Slack; a method's
// own Delay replaces it. 0 turns it off. Socket Mode frames are not delayed.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// injectFault applies the method's configured fault to a recorded call. It
// reports true when it has answered the request.
func (s *Server) injectFault(w http.ResponseWriter, r *http.Request, method string, call *Call) bool {
	s.mu.Lock()
	f := s.faultLocked(method)
	delay := f.delay
	if delay == 0 {
		delay = s.latency
	}
	status, retryAfter := 0, time.Duration(0)
	switch {
	case f.rateLimited > 0:
		f.rateLimited--
		status, retryAfter = http.StatusTooManyRequests, f.retryAfter
	case f.failures > 0:
		f.failures--
		status = f.failStatus
	}
	if status != 0 {
		call.Status = status
		s.signalLocked()
	}
	s.mu.Unlock()

	if delay > 0 {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return true
		case <-s.done:
			http.Error(w, "server closed", http.StatusServiceUnavailable)
			return true
		}
	}
	switch status {
	case 0:
		return false
	case http.StatusTooManyRequests:
		secs := int64((retryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
		writeJSON(w, status, map[string]any{"ok": false, "error": "ratelimited"})
	default:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		_, _ = w.Write([]byte("<html><body>" + http.StatusText(status) + "</body></html>"))
	}
	return true
}

// writeJSON writes v as a JSON response.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// hold is a Hold in place: the calls it matches wait for release.
type hold struct {
	match    func(url.Values) bool
	after    bool
	held     chan struct{} // closed when the first matching call arrives
	heldOnce sync.Once
	released chan struct{}
}

// Hold makes the calls of method whose values match wait until release is
// called, the client gives up or the Server closes; held is closed when the
// first one arrives. With after false a call waits before it takes effect,
// and one whose client goes away meanwhile (a bot killed mid-call) has no
// effect; with after true it takes effect (a message is posted) and only
// its answer waits, as when a client dies before it hears back.
func (s *Server) Hold(method string, match func(url.Values) bool, after bool) (held <-chan struct{}, release func()) {
	h := &hold{match: match, after: after, held: make(chan struct{}), released: make(chan struct{})}
	s.mu.Lock()
	s.holds = append(s.holds, holdOn{method, h})
	s.mu.Unlock()
	var once sync.Once
	return h.held, func() { once.Do(func() { close(h.released) }) }
}

type holdOn struct {
	method string
	h      *hold
}

// waitHolds waits out the holds on the call for its phase (after or
// before taking effect). It reports false when the client went away or
// the Server closed meanwhile.
func (s *Server) waitHolds(r *http.Request, method string, values url.Values, after bool) bool {
	s.mu.Lock()
	var hs []*hold
	for _, on := range s.holds {
		if on.method == method && on.h.after == after && on.h.match(values) {
			hs = append(hs, on.h)
		}
	}
	s.mu.Unlock()
	for _, h := range hs {
		select {
		case <-h.released:
			continue
		default:
		}
		h.heldOnce.Do(func() { close(h.held) })
		select {
		case <-h.released:
		case <-r.Context().Done():
			return false
		case <-s.done:
			return false
		}
	}
	return true
}
