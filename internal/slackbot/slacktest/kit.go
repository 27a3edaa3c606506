package slacktest

// TB is the part of testing.TB that Start uses, so that this package does
// not import testing.
type TB interface {
	Helper()
	Cleanup(func())
}

// Start starts a fake Slack for a test and closes it when the test ends.
// Register clients after calling Start so that their cleanups, which run
// first, stop them before the fake goes away.
func Start(t TB, opts Options) *Server {
	t.Helper()
	s := New(opts)
	s.Start()
	t.Cleanup(s.Close)
	return s
}
