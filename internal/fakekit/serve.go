package fakekit

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"time"
)

// Response is a scripted answer, given instead of the normal one.
type Response struct {
	// Status is the HTTP status to answer with. Without one, a Process
	// response answers what the normal handling answered; any other takes
	// the fake's Answer.Status, and where that is 0 too the request is
	// handled normally after any Delay.
	Status int
	// Headers are set on the answer, e.g. {"Retry-After": "7"}.
	Headers map[string]string
	// Body is sent as is; unless Headers set one, Content-Type is JSON when
	// it looks like JSON, HTML when it looks like HTML, plain text otherwise.
	Body string
	// Delay is waited before answering (or until the client gives up).
	Delay time.Duration
	// Hang never answers: the handler blocks until the client gives up or the server closes.
	Hang bool
	// Disconnect drops the connection without an answer.
	Disconnect bool
	// PassThrough, after any Delay, lets the request be handled normally (a slow success).
	PassThrough bool
	// Process lets the request take effect first (a dispatch creates its
	// run) and then answers as scripted: the 5xx or the timeout after which
	// a client cannot know what happened.
	Process bool
}

// Answer is where fakes differ in answering a scripted Response.
type Answer struct {
	// Status answers a Response without a Status; 0 lets such a request be
	// handled normally instead.
	Status int
	// JSONType is the Content-Type of a body that looks like JSON, as the
	// fake's normal answers spell it.
	JSONType string
}

// Serve answers r with the scripted resp and says true, or says false when
// the request is to be handled normally (PassThrough, or no status to
// answer). handle is the normal handling, run first for Process; the
// connection is dropped for Disconnect, and Hang and Delay give up when the
// request's context ends or the kit is closed.
func (k *Kit[R, Q]) Serve(w http.ResponseWriter, r *http.Request, resp Response, handle func(http.ResponseWriter)) bool {
	if resp.Delay > 0 {
		t := time.NewTimer(resp.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return true
		case <-k.closing:
			return true
		}
	}
	var processed *httptest.ResponseRecorder
	if resp.Process {
		processed = httptest.NewRecorder()
		handle(processed)
	}
	status := resp.Status
	if status == 0 {
		status = k.opts.Answer.Status
	}
	switch {
	case resp.Hang:
		select {
		case <-r.Context().Done():
		case <-k.closing:
		}
		return true
	case resp.Disconnect:
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			_ = conn.Close()
			return true
		}
		panic(http.ErrAbortHandler) // the server drops the connection
	case processed != nil && (resp.PassThrough || resp.Status == 0):
		for k, v := range processed.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(processed.Code)
		_, _ = w.Write(processed.Body.Bytes())
		return true
	case resp.PassThrough || status == 0:
		return false
	}
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", k.contentType(resp.Body))
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(resp.Body))
	return true
}

// contentType names what body looks like.
func (k *Kit[R, Q]) contentType(body string) string {
	body = strings.TrimSpace(body)
	switch {
	case strings.HasPrefix(body, "{") || strings.HasPrefix(body, "[") || strings.HasPrefix(body, `"`):
		return k.opts.Answer.JSONType
	case strings.HasPrefix(body, "<"):
		return "text/html; charset=utf-8"
	default:
		return "text/plain; charset=utf-8"
	}
}
