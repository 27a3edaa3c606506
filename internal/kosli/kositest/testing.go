package kositest

import "testing"

// Prefix is the path prefix Start(t, …) mounts the fake under, so that every
// test exercises a client whose host carries a path.
const Prefix = "/kosli"

// Start serves a fake Kosli for org and token under Prefix for the length of
// the test. The client's host is srv.URL().
func Start(t testing.TB, org, token string) *Server {
	t.Helper()
	s := New(org, token)
	s.Start(Prefix)
	t.Cleanup(s.Close)
	return s
}
