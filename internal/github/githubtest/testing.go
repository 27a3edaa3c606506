package githubtest

import "testing"

// Prefix is the path prefix Start(t, …) mounts the fake under, as GitHub
// Enterprise Server serves its API, so that every test exercises a client
// whose base URL carries a path.
const Prefix = "/api/v3"

// Start serves a fake GitHub accepting token, with workflows declared,
// under Prefix for the length of the test. The client's base URL is srv.URL().
func Start(t testing.TB, token string, workflows ...Workflow) *Server {
	t.Helper()
	s := New(token)
	for _, w := range workflows {
		s.AddWorkflow(w)
	}
	s.Start(Prefix)
	t.Cleanup(s.Close)
	return s
}
