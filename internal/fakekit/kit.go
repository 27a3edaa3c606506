// Package fakekit is the test kit the wire-level fakes (kositest,
// githubtest) share: scripted responses queued per route and consumed
// oldest first, the serving of one scripted response (a status, a delay, a
// hang, a dropped connection, or the normal answer let through or taken
// first), the record of the requests a fake received, and the local socket
// it is served on.
//
// It does not depend on package testing, so that a fake built on it can be
// served as a demo backend; each fake keeps its own routes, its own type of
// recorded request and its own test helper.
package fakekit

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// Options are what a fake's kit is set up with.
type Options[R comparable, Q any] struct {
	// AnyRoute is the route whose queue serves a request when its own
	// route's queue is empty.
	AnyRoute R
	// RouteOf tells the route of a recorded request, for RequestsTo.
	RouteOf func(Q) R
	// Answer is how scripted responses are answered.
	Answer Answer
}

// Kit holds one fake's scripted responses, per route of type R, and the
// requests it received, as Q. Create it with New; it is safe for
// concurrent use.
type Kit[R comparable, Q any] struct {
	opts Options[R, Q]

	mu       sync.Mutex
	queues   map[R][]Response
	requests []Q
	latency  time.Duration

	closing chan struct{}
	once    sync.Once
	hs      *httptest.Server
	url     string
}

// New returns a kit with nothing scripted or recorded.
func New[R comparable, Q any](opts Options[R, Q]) *Kit[R, Q] {
	return &Kit[R, Q]{opts: opts, queues: map[R][]Response{}, closing: make(chan struct{})}
}

// Script queues responses for route, consumed one per request, oldest first.
func (k *Kit[R, Q]) Script(route R, rs ...Response) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.queues[route] = append(k.queues[route], rs...)
}

// FailNext queues, for the next n requests to route, an answer of status
// with a JSON message.
func (k *Kit[R, Q]) FailNext(route R, n int, status int) {
	rs := make([]Response, n)
	for i := range rs {
		rs[i] = Response{Status: status, Body: `{"message": "scripted failure: ` + http.StatusText(status) + `"}`}
	}
	k.Script(route, rs...)
}

// Clear drops what is still scripted for route: the outage is over.
func (k *Kit[R, Q]) Clear(route R) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.queues, route)
}

// Pending says how many scripted responses are still queued for route.
func (k *Kit[R, Q]) Pending(route R) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.queues[route])
}

// SetLatency makes every later request wait d before it is answered, as
// a network and a remote service would: added to a scripted Delay, and a
// slow success where nothing is scripted. 0 turns it off.
func (k *Kit[R, Q]) SetLatency(d time.Duration) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.latency = d
}

// Receive records q, a request to route, and pops the response scripted
// for it: the oldest of route's queue, else of the any-route queue (false
// when both are empty, and no latency is set). index is q's, for Amend.
func (k *Kit[R, Q]) Receive(route R, q Q) (index int, resp Response, scripted bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.requests = append(k.requests, q)
	index = len(k.requests) - 1
	for _, r := range []R{route, k.opts.AnyRoute} {
		if queue := k.queues[r]; len(queue) > 0 {
			k.queues[r] = queue[1:]
			resp = queue[0]
			resp.Delay += k.latency
			return index, resp, true
		}
	}
	if k.latency > 0 {
		return index, Response{Delay: k.latency, PassThrough: true}, true
	}
	return index, Response{}, false
}

// Amend changes the recorded request at index, e.g. to note the status
// answered once the answer is written.
func (k *Kit[R, Q]) Amend(index int, f func(*Q)) {
	k.mu.Lock()
	defer k.mu.Unlock()
	f(&k.requests[index])
}

// Requests returns every request received so far, oldest first (nil when none).
func (k *Kit[R, Q]) Requests() []Q {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]Q(nil), k.requests...)
}

// RequestsTo returns the requests received for one route, oldest first (nil when none).
func (k *Kit[R, Q]) RequestsTo(route R) []Q {
	var out []Q
	for _, q := range k.Requests() {
		if k.opts.RouteOf(q) == route {
			out = append(out, q)
		}
	}
	return out
}

// Listen serves h on a new local socket and returns the base URL: the
// socket's address followed by path. Call it once, before serving.
func (k *Kit[R, Q]) Listen(h http.Handler, path string) string {
	k.hs = httptest.NewServer(h)
	k.url = k.hs.URL + path
	return k.url
}

// URL is the base URL Listen returned ("" before Listen).
func (k *Kit[R, Q]) URL() string { return k.url }

// Close releases every request that hangs or waits out a Delay, now and
// from now on, and stops the socket Listen opened. It is idempotent.
func (k *Kit[R, Q]) Close() {
	k.once.Do(func() { close(k.closing) })
	if k.hs != nil {
		k.hs.Close()
	}
}
