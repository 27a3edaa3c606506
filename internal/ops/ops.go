// Package ops is the bot's operations endpoint: /healthz (the process lives),
// /readyz (it can do its work: socket connected, Redis reachable) and
// Prometheus /metrics, plus whatever else the caller mounts.
package ops

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
)

// Check is one readiness condition; nil means ready.
type Check func(ctx context.Context) error

// Options configures the server.
type Options struct {
	// Listen is the address, e.g. ":8080".
	Listen   string
	Registry *prometheus.Registry
	// Ready are the readiness checks by name.
	Ready  map[string]Check
	Logger zerolog.Logger
	// Mux, when set, receives the ops routes and serves the caller's too.
	Mux *http.ServeMux
}

// Server serves the ops endpoints.
type Server struct {
	opts     Options
	mux      *http.ServeMux
	listener net.Listener
}

// New binds the listener at once, so that a bad --listen fails start-up and
// tests can read the chosen port.
func New(opts Options) (*Server, error) {
	mux := opts.Mux
	if mux == nil {
		mux = http.NewServeMux()
	}
	s := &Server{opts: opts, mux: mux}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", s.ready)
	if opts.Registry != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(opts.Registry, promhttp.HandlerOpts{}))
	}
	l, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return nil, err
	}
	s.listener = l
	return s, nil
}

// Addr is the address actually listened on.
func (s *Server) Addr() string { return s.listener.Addr().String() }

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	status := map[string]string{}
	ok := true
	names := make([]string, 0, len(s.opts.Ready))
	for name := range s.opts.Ready {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := s.opts.Ready[name](ctx); err != nil {
			ok = false
			status[name] = err.Error()
		} else {
			status[name] = "ok"
		}
	}
	w.Header().Set("Content-Type", "application/json")
	if !ok {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"ready": ok, "checks": status})
}

// Run serves until ctx ends, then shuts down within five seconds.
func (s *Server) Run(ctx context.Context) error {
	srv := &http.Server{Handler: s.mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(s.listener) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		s.opts.Logger.Warn().Err(err).Msg("ops server shutdown")
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
