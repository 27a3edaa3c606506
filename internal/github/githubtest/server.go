// Package githubtest is a fake GitHub that speaks the part of the REST API
// release-bot uses, on a real socket and under a path prefix like GitHub
// Enterprise Server's /api/v3: workflow dispatch (with or without
// return_run_details, or refusing it as an older GHES does), workflow runs,
// their jobs, cancelling, conditional requests (ETag, 304), rate-limit
// headers and the GitHub App installation-token exchange.
//
// It runs a scripted workflow: a dispatch creates a run titled from a
// run-name template and one job per item of its promotions input; the run
// and its jobs go from queued (and waiting, for an environment's reviewers)
// through in_progress to completed on the fake's clock, each leg with its
// own duration and conclusion. State is computed from the clock when a
// request comes, so tests move the clock (Advance) instead of sleeping.
//
// Every request is recorded, and faults can be scripted per route. The core
// type does not depend on package testing, so that `bot sandbox` can serve
// it as a demo; Start(t, …) is the test helper.
package githubtest

import (
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/release-bot/release-bot/internal/fakekit"
)

// Route names a group of endpoints, for recording and for fault scripts.
type Route string

// The routes the fake serves.
const (
	RouteDispatch    Route = "dispatch"      // POST /repos/{o}/{r}/actions/workflows/{file}/dispatches
	RouteRuns        Route = "runs"          // GET /repos/{o}/{r}/actions/workflows/{file}/runs
	RouteRun         Route = "run"           // GET /repos/{o}/{r}/actions/runs/{id}
	RouteJobs        Route = "jobs"          // GET /repos/{o}/{r}/actions/runs/{id}/jobs
	RouteCancel      Route = "cancel"        // POST /repos/{o}/{r}/actions/runs/{id}/cancel
	RouteAccessToken Route = "access_tokens" // POST /app/installations/{id}/access_tokens
	// AnyRoute scripts faults for whatever route the next request is for.
	AnyRoute Route = "*"
)

// DispatchMode is how the fake answers a dispatch.
type DispatchMode int

const (
	// ModeRunDetails answers 200 with the run's id and URLs when asked
	// (return_run_details: true), as GitHub.com does since February 2026.
	ModeRunDetails DispatchMode = iota
	// ModeNoContent answers 204 with no body whatever was asked.
	ModeNoContent
	// ModeOldGHES refuses return_run_details with a 422 naming it, and answers a plain dispatch 204.
	ModeOldGHES
)

// Request is one request as the fake received it. Credentials are never kept.
type Request struct {
	Method string
	// Path is the escaped path below the mount prefix, e.g. /repos/acme/app/actions/runs/7.
	Path  string
	Route Route
	Query url.Values
	// Body is the request body of a POST (up to 64 KiB).
	Body []byte
	// Authorized is true when the credentials were accepted.
	Authorized bool
	// NotModified is true when the answer was a 304.
	NotModified bool
	// Status is the answer's status; 0 when none was given (a hang, a dropped connection).
	Status    int
	UserAgent string
	Time      time.Time
}

// Server is a fake GitHub. Create it with New; it is safe for concurrent use.
type Server struct {
	token string

	mu          sync.Mutex
	clock       func() time.Time
	offset      time.Duration
	webBase     string
	mode        DispatchMode
	workflows   map[string]*Workflow
	runs        []*run
	nextRunID   int64
	nextJobID   int64
	rate        rateWindow
	apps        map[int64]*rsa.PublicKey // by installation id
	appIDs      map[int64]int64          // installation id → app id
	issued      map[string]bool          // installation tokens
	onCompleted []func(Run)

	prefix string
	kit    *fakekit.Kit[Route, Request]
}

// New returns a fake GitHub that accepts the token token (as "Bearer" or "token").
func New(token string) *Server {
	return &Server{
		token:     token,
		clock:     time.Now,
		webBase:   "https://github.com",
		workflows: map[string]*Workflow{},
		nextRunID: 9100000001,
		nextJobID: 31000000001,
		rate:      rateWindow{limit: 5000},
		apps:      map[int64]*rsa.PublicKey{},
		appIDs:    map[int64]int64{},
		issued:    map[string]bool{},
		// A scripted answer without a status lets the request through; JSON
		// is typed as the API's own answers.
		kit: fakekit.New(fakekit.Options[Route, Request]{
			AnyRoute: AnyRoute, RouteOf: func(r Request) Route { return r.Route },
			Answer: fakekit.Answer{JSONType: "application/json; charset=utf-8"},
		}),
	}
}

// SetClock replaces the clock runs progress on (default time.Now); Advance moves past it.
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock = now
}

// Now is the fake's time: its clock plus every Advance.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now()
}

func (s *Server) now() time.Time { return s.clock().Add(s.offset) }

// Advance moves the fake's time forward by d and runs the OnRunCompleted
// hooks of the runs that completed meanwhile.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	s.offset += d
	s.mu.Unlock()
	s.Tick()
}

// Tick runs the OnRunCompleted hooks of runs that have completed by now.
// Requests tick too; a demo on the real clock calls Tick now and then.
func (s *Server) Tick() {
	s.mu.Lock()
	hooks := append([]func(Run){}, s.onCompleted...)
	var done []Run
	now := s.now()
	for _, r := range s.runs {
		if !r.fired && r.completedBy(now) {
			r.fired = true
			done = append(done, r.snapshot(now))
		}
	}
	s.mu.Unlock()
	for _, run := range done {
		for _, h := range hooks {
			h(run)
		}
	}
}

// OnRunCompleted registers f to be called once for each run that completes
// (success, failure or cancelled), outside the fake's lock.
func (s *Server) OnRunCompleted(f func(Run)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onCompleted = append(s.onCompleted, f)
}

// SetWebBase sets the host of html_url links (default https://github.com).
func (s *Server) SetWebBase(base string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.webBase = strings.TrimRight(base, "/")
}

// SetDispatchMode sets how dispatches are answered (default ModeRunDetails).
func (s *Server) SetDispatchMode(m DispatchMode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mode = m
}

// Mount serves the fake on mux under prefix (e.g. "/api/v3"): the API is
// then at prefix + "/repos/...".
func (s *Server) Mount(mux *http.ServeMux, prefix string) {
	prefix = strings.TrimRight(prefix, "/")
	s.mu.Lock()
	s.prefix = prefix
	s.mu.Unlock()
	mux.Handle(prefix+"/", http.StripPrefix(prefix, s))
}

// Start serves the fake on a new local socket under prefix and returns the
// base URL to give a client (it ends in prefix + "/").
func (s *Server) Start(prefix string) string {
	mux := http.NewServeMux()
	s.Mount(mux, prefix)
	return s.kit.Listen(mux, strings.TrimRight(prefix, "/")+"/")
}

// URL is the base URL Start returned ("" before Start).
func (s *Server) URL() string { return s.kit.URL() }

// Close releases hanging requests and stops the server Start started. It is idempotent.
func (s *Server) Close() { s.kit.Close() }

// Requests returns every request received so far, oldest first.
func (s *Server) Requests() []Request { return s.kit.Requests() }

// RequestsTo returns the requests received for one route.
func (s *Server) RequestsTo(route Route) []Request { return s.kit.RequestsTo(route) }

// ServeHTTP implements http.Handler for paths below the mount prefix.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.Tick()
	segs := splitPath(r.URL.EscapedPath())
	route := routeOf(r.Method, segs)
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(io.LimitReader(r.Body, 1<<20))
	}
	s.mu.Lock()
	authorized := s.authorized(r.Header.Get("Authorization"))
	kept := body
	if len(kept) > 64<<10 {
		kept = kept[:64<<10]
	}
	index, scripted, isScripted := s.kit.Receive(route, Request{
		Method: r.Method, Path: r.URL.EscapedPath(), Route: route, Query: r.URL.Query(), Body: kept,
		Authorized: authorized, UserAgent: r.UserAgent(), Time: s.now(),
	})
	s.mu.Unlock()

	rec := &recorder{ResponseWriter: w}
	defer s.kit.Amend(index, func(q *Request) {
		q.Status = rec.status
		q.NotModified = rec.status == http.StatusNotModified
	})
	if isScripted && s.kit.Serve(rec, r, scripted, func(w http.ResponseWriter) { s.handle(w, r, route, segs, body, authorized) }) {
		return
	}
	s.handle(rec, r, route, segs, body, authorized)
}

// handle answers a request the normal way.
func (s *Server) handle(w http.ResponseWriter, r *http.Request, route Route, segs []string, body []byte, authorized bool) {
	if route == RouteAccessToken {
		s.serveAccessToken(w, r, segs)
		return
	}
	if !authorized {
		writeMessage(w, http.StatusUnauthorized, "Bad credentials", "https://docs.github.com/rest")
		return
	}
	if route == "" {
		writeMessage(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest")
		return
	}
	if r.Method == http.MethodPost && !s.spend(w) {
		return
	}
	switch route {
	case RouteDispatch:
		s.serveDispatch(w, r, segs[1]+"/"+segs[2], segs[5], body)
	case RouteCancel:
		s.serveCancel(w, segs[1]+"/"+segs[2], segs[5])
	default:
		s.serveRead(w, r, route, segs)
	}
}

// routeOf recognises the endpoints by their path segments below the prefix.
func routeOf(method string, segs []string) Route {
	n := len(segs)
	switch {
	case n == 4 && segs[0] == "app" && segs[1] == "installations" && segs[3] == "access_tokens" && method == http.MethodPost:
		return RouteAccessToken
	case n < 5 || segs[0] != "repos" || segs[3] != "actions":
		return ""
	case n == 7 && segs[4] == "workflows" && segs[6] == "dispatches" && method == http.MethodPost:
		return RouteDispatch
	case n == 7 && segs[4] == "workflows" && segs[6] == "runs" && method == http.MethodGet:
		return RouteRuns
	case n == 6 && segs[4] == "runs" && method == http.MethodGet:
		return RouteRun
	case n == 7 && segs[4] == "runs" && segs[6] == "jobs" && method == http.MethodGet:
		return RouteJobs
	case n == 7 && segs[4] == "runs" && segs[6] == "cancel" && method == http.MethodPost:
		return RouteCancel
	}
	return ""
}

// splitPath turns /repos/a/b%2Fc into [repos a b/c]; nil when unreadable.
func splitPath(escaped string) []string {
	parts := strings.Split(strings.Trim(escaped, "/"), "/")
	for i, p := range parts {
		u, err := url.PathUnescape(p)
		if err != nil {
			return nil
		}
		parts[i] = u
	}
	return parts
}

// authorized accepts the token, or an installation token the fake issued,
// as "Bearer x" or "token x"; s.mu must be held.
func (s *Server) authorized(header string) bool {
	scheme, cred, ok := strings.Cut(header, " ")
	if !ok || (!strings.EqualFold(scheme, "bearer") && !strings.EqualFold(scheme, "token")) || cred == "" {
		return false
	}
	return (s.token != "" && cred == s.token) || s.issued[cred]
}

// recorder remembers the status written, and lets a script drop the connection.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(p)
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeMessage writes GitHub's error shape.
func writeMessage(w http.ResponseWriter, status int, msg, docs string) {
	writeJSON(w, status, map[string]string{"message": msg, "documentation_url": docs})
}
