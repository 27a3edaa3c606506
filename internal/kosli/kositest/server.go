// Package kositest is a fake Kosli that speaks the real HTTP API (the part of
// /api/v2 release-bot uses) on a real socket: environments with snapshots that
// change over time, an env-diff computed server-side, configurable compliance
// verdicts or environment policies it evaluates, controls, custom attestation
// types, and recorded flows, trails, artifacts and attestations. It records
// every request and can be scripted to fail, stall, hang or hold a trail's lock.
//
// The core type does not depend on package testing, so that `bot sandbox`
// can serve it as a demo backend; Start(t, …) is the test helper.
//
// Where Kosli's exact error wording is not documented the fake uses its own
// words, in the documented shape ({"message": "..."}).
package kositest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/release-bot/release-bot/internal/fakekit"
)

// Route names a group of endpoints, for recording and for fault scripts.
type Route string

// The routes the fake serves, by the resource after /api/v2/.
const (
	RouteEnvDiff      Route = "env-diff"
	RouteSnapshots    Route = "snapshots"
	RouteEnvironments Route = "environments"
	RouteAsserts      Route = "asserts"
	RouteFlows        Route = "flows"
	RouteTrails       Route = "trails"
	RouteAttestations Route = "attestations"
	RouteArtifacts    Route = "artifacts"
	RouteControls     Route = "controls"
	// RouteAttestationTypes is custom-attestation-types.
	RouteAttestationTypes Route = "custom-attestation-types"
	RoutePolicies         Route = "policies"
	// AnyRoute scripts faults for whatever route the next request is for.
	AnyRoute Route = "*"
)

// Request is one request as the fake received it. The token itself is never kept.
type Request struct {
	Method string
	// Path is the escaped path below the mount prefix, e.g. /api/v2/snapshots/acme/prod/-1.
	Path  string
	Route Route
	Query url.Values
	// Authorized is true when the bearer token was the one the server expects.
	Authorized  bool
	UserAgent   string
	ContentType string
	Time        time.Time
}

// Server is a fake Kosli for one org. Create it with New; it is safe for concurrent use.
type Server struct {
	org   string
	token string

	mu           sync.Mutex
	now          func() time.Time
	webBase      string
	envs         map[string]*environment
	envOrder     []string
	verdicts     map[verdictKey]Verdict
	flows        []Flow
	trails       []Trail
	attestations []Attestation
	artifacts    []ReportedArtifact
	controls     []Control
	types        []AttestationType
	policies     map[string]*policy
	envPolicies  map[string][]string
	conflicts    map[string]*conflict
	// forgotten are fingerprints Kosli no longer knows (ForgetArtifact).
	forgotten map[string]bool

	kit *fakekit.Kit[Route, Request]
}

// New returns a fake Kosli for org that accepts the bearer token token.
func New(org, token string) *Server {
	return &Server{
		org:         org,
		token:       token,
		now:         time.Now,
		webBase:     "https://app.kosli.com",
		envs:        map[string]*environment{},
		verdicts:    map[verdictKey]Verdict{},
		policies:    map[string]*policy{},
		envPolicies: map[string][]string{},
		conflicts:   map[string]*conflict{},
		// A scripted answer without a status is a 200; JSON is typed as the API's own answers.
		kit: fakekit.New(fakekit.Options[Route, Request]{
			AnyRoute: AnyRoute, RouteOf: func(r Request) Route { return r.Route },
			Answer: fakekit.Answer{Status: http.StatusOK, JSONType: "application/json"},
		}),
	}
}

// SetClock replaces the clock that stamps snapshots and recorded requests.
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// SetWebBase sets the host used in html_url links (default https://app.kosli.com).
func (s *Server) SetWebBase(base string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.webBase = strings.TrimRight(base, "/")
}

// Mount serves the fake on mux under prefix (e.g. "/kosli"; "" for the root):
// the API is then at prefix + "/api/v2/...".
func (s *Server) Mount(mux *http.ServeMux, prefix string) {
	prefix = strings.TrimRight(prefix, "/")
	mux.Handle(prefix+"/", http.StripPrefix(prefix, s))
}

// Start serves the fake on a new local socket under prefix and returns the
// base URL to give a client as its host (it includes the prefix).
func (s *Server) Start(prefix string) string {
	mux := http.NewServeMux()
	s.Mount(mux, prefix)
	return s.kit.Listen(mux, strings.TrimRight(prefix, "/"))
}

// URL is the base URL Start returned ("" before Start).
func (s *Server) URL() string { return s.kit.URL() }

// Close releases hanging requests and stops the server Start started. It is idempotent.
func (s *Server) Close() { s.kit.Close() }

// Requests returns every request received so far, oldest first.
func (s *Server) Requests() []Request { return s.kit.Requests() }

// RequestsTo returns the requests received for one route.
func (s *Server) RequestsTo(route Route) []Request { return s.kit.RequestsTo(route) }

// ServeHTTP implements http.Handler for paths starting /api/v2/.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	segs, ok := splitPath(r.URL.EscapedPath())
	route := Route("")
	if ok {
		route = Route(segs[0])
	}
	authorized := r.Header.Get("Authorization") == "Bearer "+s.token
	s.mu.Lock()
	_, scripted, isScripted := s.kit.Receive(route, Request{
		Method: r.Method, Path: r.URL.EscapedPath(), Route: route, Query: r.URL.Query(),
		Authorized: authorized, UserAgent: r.UserAgent(), ContentType: r.Header.Get("Content-Type"), Time: s.now(),
	})
	s.mu.Unlock()

	if isScripted && s.kit.Serve(w, r, scripted, func(w http.ResponseWriter) { s.handle(w, r, segs, authorized) }) {
		return
	}
	s.handle(w, r, segs, authorized)
}

// handle answers a request the normal way.
// segs is nil when the path is not below /api/v2/.
func (s *Server) handle(w http.ResponseWriter, r *http.Request, segs []string, authorized bool) {
	if !authorized {
		writeMessage(w, http.StatusUnauthorized, "Invalid or missing API token")
		return
	}
	if len(segs) < 2 {
		writeMessage(w, http.StatusNotFound, "Not Found")
		return
	}
	if segs[1] != s.org {
		writeMessage(w, http.StatusForbidden, "You do not have access to organization '"+segs[1]+"'")
		return
	}
	s.dispatch(w, r, segs)
}

func (s *Server) dispatch(w http.ResponseWriter, r *http.Request, segs []string) {
	method := func(m string) bool {
		if r.Method != m {
			writeMessage(w, http.StatusMethodNotAllowed, "Method Not Allowed")
			return false
		}
		return true
	}
	n := len(segs)
	switch {
	case segs[0] == string(RouteEnvDiff) && n == 2:
		if method(http.MethodGet) {
			s.serveEnvDiff(w, r)
		}
	case segs[0] == string(RouteSnapshots) && n == 4:
		if method(http.MethodGet) {
			s.serveSnapshot(w, segs[2], segs[3])
		}
	case segs[0] == string(RouteEnvironments) && (n == 2 || n == 3):
		if method(http.MethodGet) {
			s.serveEnvironments(w, segs[2:])
		}
	case segs[0] == string(RouteEnvironments) && n == 4 && segs[3] == "policies":
		if method(http.MethodPost) {
			s.serveAttachPolicies(w, r, segs[2])
		}
	case segs[0] == string(RoutePolicies) && n == 2:
		if method(http.MethodPut) {
			s.servePolicy(w, r)
		}
	case segs[0] == string(RouteArtifacts) && n == 3:
		if method(http.MethodPost) {
			s.serveArtifact(w, r, segs[2])
		}
	case segs[0] == string(RouteControls) && n == 2:
		switch r.Method {
		case http.MethodGet:
			s.serveControlList(w, r)
		case http.MethodPost:
			s.serveCreateControl(w, r)
		default:
			method(http.MethodGet)
		}
	case segs[0] == string(RouteControls) && n == 3:
		if method(http.MethodGet) {
			s.serveControl(w, segs[2])
		}
	case segs[0] == string(RouteAttestationTypes) && n == 2:
		if method(http.MethodPost) {
			s.serveCreateAttestationType(w, r)
		}
	case segs[0] == string(RouteAttestationTypes) && n == 3:
		if method(http.MethodGet) {
			s.serveAttestationType(w, segs[2])
		}

	case segs[0] == string(RouteAsserts) && n == 4 && segs[2] == "fingerprint":
		if method(http.MethodGet) {
			s.serveAssert(w, r, segs[3])
		}
	case segs[0] == string(RouteFlows) && n == 3 && segs[2] == "template_file":
		if method(http.MethodPut) {
			s.serveFlow(w, r)
		}
	case segs[0] == string(RouteTrails) && n == 3:
		if method(http.MethodPut) {
			s.serveTrail(w, r, segs[2])
		}
	case segs[0] == string(RouteAttestations) && n == 6 && segs[3] == "trail":
		if r.Method == http.MethodGet {
			s.serveTrailAttestations(w, segs[2], segs[4], segs[5])
		} else if method(http.MethodPost) {
			s.serveAttestation(w, r, segs[2], segs[4], segs[5])
		}
	default:
		writeMessage(w, http.StatusNotFound, "Not Found")
	}
}

// splitPath turns /api/v2/a/b%23c into [a, b#c].
func splitPath(escaped string) ([]string, bool) {
	rest, ok := strings.CutPrefix(escaped, "/api/v2/")
	if !ok || rest == "" {
		return nil, false
	}
	parts := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	for i, p := range parts {
		u, err := url.PathUnescape(p)
		if err != nil {
			return nil, false
		}
		parts[i] = u
	}
	return parts, true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeMessage(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"message": msg})
}

func writeInvalid(w http.ResponseWriter, field, problem string) {
	writeJSON(w, http.StatusBadRequest, map[string]any{
		"message": "Input payload validation failed",
		"errors":  map[string]string{field: problem},
	})
}
