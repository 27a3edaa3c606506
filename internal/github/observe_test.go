package github_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/release-bot/release-bot/internal/github"
	"github.com/release-bot/release-bot/internal/github/githubtest"
	"github.com/release-bot/release-bot/internal/metrics"
)

// observed records what Options.Observe was told.
type observed struct {
	mu  sync.Mutex
	got []string
}

func (o *observed) observe(endpoint string, status int, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.got = append(o.got, endpoint+" "+metrics.StatusClass(status))
}

// TestObserveNamesEveryAttemptByItsRoute: each attempt sent is observed once,
// by its route with placeholders (never a path with ids), with its status;
// every route observed is one of Endpoints, so metrics can list them at zero.
func TestObserveNamesEveryAttemptByItsRoute(t *testing.T) {
	o := &observed{}
	h := setup(t, promote(fiveLegs), func(opts *github.Options) { opts.Observe = o.observe })
	h.srv.Script(githubtest.RouteRun, githubtest.Response{Status: 502})
	runID := dispatched(t, h, "prod-23", five...)
	if _, found, err := h.c.FindRun(ctx(t), wf, "prod-23", start); err != nil || !found {
		t.Fatalf("FindRun: %v, %v", found, err)
	}
	if _, err := h.c.GetRun(ctx(t), wf, runID); err != nil {
		t.Fatal(err)
	}
	if _, err := h.c.Jobs(ctx(t), wf, runID); err != nil {
		t.Fatal(err)
	}
	if err := h.c.CancelRun(ctx(t), wf, runID); err != nil {
		t.Fatal(err)
	}
	if _, err := h.c.Dispatch(ctx(t), wf, inputs(" "), " "); err == nil {
		t.Fatal("a blank release id was dispatched")
	}
	o.mu.Lock()
	got := slices.Clone(o.got)
	o.mu.Unlock()
	want := []string{
		github.RouteDispatch + " 2xx", github.RouteListRuns + " 2xx",
		github.RouteGetRun + " 5xx", github.RouteGetRun + " 2xx",
		github.RouteListJobs + " 2xx",
		github.RouteCancelRun + " 2xx",
	}
	if !slices.Equal(got, want) {
		t.Errorf("observed\n%q\nwant\n%q", got, want)
	}
	for _, e := range got {
		route := e[:len(e)-4]
		if !slices.Contains(github.Endpoints(), route) {
			t.Errorf("%q is not in Endpoints()", route)
		}
	}
}
