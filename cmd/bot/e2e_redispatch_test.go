package main

import (
	"testing"

	"github.com/release-bot/release-bot/internal/github/githubtest"
)

// A dispatch GitHub answered 502 without creating a run: once the run list
// shows, after the wait, no run naming the release, it is sent again, once,
// said in the thread once, and the release ships.
func TestShipDispatch5xxWithNothingCreatedIsSentAgain(t *testing.T) {
	t.Parallel()
	b := startShip(t, "2", githubtest.Workflow{}, shipSetup{})
	b.gh.Script(githubtest.RouteDispatch, githubtest.Response{Status: 502})
	ts := b.proposeAndApprove()
	b.threadHas(ts, "did not confirm the dispatch")
	b.threadHas(ts, "dispatching again (attempt 2 of 4)")
	b.threadHas(ts, "Release succeeded")
	if n := len(b.gh.RequestsTo(githubtest.RouteDispatch)); n != 2 {
		t.Errorf("%d dispatch POSTs, want 2", n)
	}
	if n := b.threadCount(ts, ":repeat:"); n != 1 {
		t.Errorf("the thread was told of %d dispatches again, want 1", n)
	}
	if n := len(b.gh.Runs()); n != 1 {
		t.Errorf("%d runs", n)
	}
}
