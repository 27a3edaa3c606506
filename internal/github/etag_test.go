package github_test

import (
	"testing"
	"time"

	"github.com/release-bot/release-bot/internal/github"
	"github.com/release-bot/release-bot/internal/github/githubtest"
)

func TestPollingAnUnchangedRunCostsNoRateLimit(t *testing.T) {
	h := setup(t, promote(fiveLegs))
	runID := dispatched(t, h, "prod-40", five...)
	h.clk.Advance(10 * time.Second) // running, nothing ends for a while
	first, err := h.c.GetRun(ctx(t), wf, runID)
	if err != nil {
		t.Fatal(err)
	}
	before := h.c.Stats()
	for range 5 {
		h.clk.Advance(5 * time.Second)
		run, err := h.c.GetRun(ctx(t), wf, runID)
		if err != nil || run != first {
			t.Fatalf("GetRun from the cache = %+v, %v; want %+v", run, err, first)
		}
	}
	after := h.c.Stats()
	if after.Requests != before.Requests || after.NotModified != before.NotModified+5 {
		t.Errorf("stats went from %+v to %+v; want 5 more not modified and no more requests", before, after)
	}
	reads := h.srv.RequestsTo(githubtest.RouteRun)
	for _, r := range reads[1:] {
		if !r.NotModified {
			t.Errorf("a poll of the unchanged run was answered %d", r.Status)
		}
	}
	h.clk.Advance(time.Minute) // nginx's leg ends: the run changes
	if _, err := h.c.GetRun(ctx(t), wf, runID); err != nil {
		t.Fatal(err)
	}
	if got := h.c.Stats(); got.Requests != after.Requests+1 {
		t.Errorf("a changed run was not fetched: %+v", got)
	}
}

// followFor polls a run and its jobs every interval for d, the way a
// follower does, and returns the client's request counts.
func followFor(t testing.TB, h *harness, runID int64, interval, d time.Duration) github.Stats {
	for elapsed := time.Duration(0); elapsed <= d; elapsed += interval {
		if _, err := h.c.GetRun(ctx2(t), wf, runID); err != nil {
			t.Fatal(err)
		}
		if _, err := h.c.Jobs(ctx2(t), wf, runID); err != nil {
			t.Fatal(err)
		}
		h.clk.Advance(interval)
	}
	return h.c.Stats()
}

// tenLegs is a 10-artifact release whose legs end from 3 to 21 minutes in.
func tenLegs(w *githubtest.Workflow) {
	w.QueueFor = 20 * time.Second
	w.Legs = map[string]githubtest.Leg{}
	for i, s := range tenServices {
		w.Legs[s] = githubtest.Leg{Duration: time.Duration(3+2*i) * time.Minute}
	}
}

var tenServices = []string{"saver", "web", "nginx", "runner", "creator", "differ", "dashboard",
	"exercises-start-points", "languages-start-points", "custom-start-points"}

// The budget: following a 10-artifact run for 30 minutes, polling
// the run and its jobs every 15 s, costs at most 200 counted requests.
func TestFollowingATenLegRunFor30MinutesFitsTheBudget(t *testing.T) {
	h := setup(t, promote(tenLegs))
	runID := dispatched(t, h, "prod-41", tenServices...)
	got := followFor(t, h, runID, 15*time.Second, 30*time.Minute)
	t.Logf("10 legs, 30 minutes, a poll of run and jobs every 15 s: %d counted requests (dispatch included), %d answered 304", got.Requests, got.NotModified)
	if got.Requests > 200 {
		t.Errorf("%d counted requests, over the budget of 200", got.Requests)
	}
	if polls := 2 * (30*4 + 1); got.Requests+got.NotModified != polls+1 {
		t.Errorf("%d requests in all, want %d polls and the dispatch", got.Requests+got.NotModified, polls)
	}
}

func BenchmarkFollowTenLegs30Minutes(b *testing.B) {
	var got github.Stats
	for range b.N {
		h := setup(b, promote(tenLegs))
		got = followFor(b, h, dispatched(b, h, "prod-bench", tenServices...), 15*time.Second, 30*time.Minute)
	}
	b.ReportMetric(float64(got.Requests), "counted-requests")
	b.ReportMetric(float64(got.NotModified), "304s")
}
