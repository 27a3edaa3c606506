package github_test

import (
	"errors"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/release-bot/release-bot/internal/github"
	"github.com/release-bot/release-bot/internal/github/githubtest"
)

var five = []string{"saver", "web", "nginx", "runner", "creator"}

// fiveLegs is promote.yml with five legs of different lengths, runner failing.
func fiveLegs(w *githubtest.Workflow) {
	w.Legs = map[string]githubtest.Leg{
		"saver":  {Duration: 3 * time.Minute},
		"web":    {Duration: 4 * time.Minute},
		"nginx":  {Duration: time.Minute},
		"runner": {Duration: 2 * time.Minute, Conclusion: "failure"},
	} // creator takes the default 2 minutes
}

func conclusions(jobs []github.Job) map[string]int {
	n := map[string]int{}
	for _, j := range jobs {
		n[j.Status+"/"+j.Conclusion]++
	}
	return n
}

func TestFiveLegsOneFailingFollowedOnTheClock(t *testing.T) {
	h := setup(t, promote(fiveLegs))
	runID := dispatched(t, h, "prod-20", five...)

	run, err := h.c.GetRun(ctx(t), wf, runID)
	if err != nil || run.Status != github.StatusQueued || run.DisplayTitle != "Promote prod-20" || run.Name != "promote" {
		t.Fatalf("GetRun at dispatch = %+v, %v", run, err)
	}
	steps := []struct {
		after time.Duration
		run   string
		jobs  map[string]int
	}{
		{5 * time.Second, "in_progress/", map[string]int{"in_progress/": 5}},
		{time.Minute, "in_progress/", map[string]int{"in_progress/": 4, "completed/success": 1}},
		{time.Minute, "in_progress/", map[string]int{"in_progress/": 2, "completed/success": 2, "completed/failure": 1}},
		{2 * time.Minute, "completed/failure", map[string]int{"completed/success": 4, "completed/failure": 1}},
	}
	for i, s := range steps {
		h.clk.Advance(s.after)
		run, err := h.c.GetRun(ctx(t), wf, runID)
		if err != nil || run.Status+"/"+run.Conclusion != s.run {
			t.Fatalf("step %d: run %s/%s, %v; want %s", i, run.Status, run.Conclusion, err, s.run)
		}
		jobs, err := h.c.Jobs(ctx(t), wf, runID)
		if got := conclusions(jobs); err != nil || !maps.Equal(got, s.jobs) {
			t.Fatalf("step %d: jobs %v, %v; want %v", i, got, err, s.jobs)
		}
	}
	jobs, _ := h.c.Jobs(ctx(t), wf, runID)
	legs, unmatched := github.MatchLegs(jobs, five)
	if len(legs) != 5 || len(unmatched) != 0 {
		t.Fatalf("MatchLegs = %v, %v", legs, unmatched)
	}
	runner := legs["runner"]
	if runner.Name != "deploy (runner)" || runner.Conclusion != github.ConclusionFailure ||
		runner.CompletedAt.Sub(runner.StartedAt) != 2*time.Minute || !strings.Contains(runner.HTMLURL, "/job/") {
		t.Errorf("runner's leg = %+v", runner)
	}
}

func TestARunWaitingOnReviewersShowsWaiting(t *testing.T) {
	h := setup(t, promote(func(w *githubtest.Workflow) { w.Wait = 10 * time.Minute }))
	runID := dispatched(t, h, "prod-21", "saver", "web")
	h.clk.Advance(time.Minute)
	run, err := h.c.GetRun(ctx(t), wf, runID)
	jobs, _ := h.c.Jobs(ctx(t), wf, runID)
	if err != nil || run.Status != github.StatusWaiting || conclusions(jobs)["waiting/"] != 2 {
		t.Fatalf("run %+v, jobs %v, %v", run, conclusions(jobs), err)
	}
	h.clk.Advance(10 * time.Minute)
	if run, _ := h.c.GetRun(ctx(t), wf, runID); run.Status != github.StatusInProgress {
		t.Errorf("after the wait, run status %s", run.Status)
	}
}

func TestCancelARun(t *testing.T) {
	h := setup(t, promote(fiveLegs))
	runID := dispatched(t, h, "prod-22", five...)
	h.clk.Advance(90 * time.Second) // nginx done, the others running
	if err := h.c.CancelRun(ctx(t), wf, runID); err != nil {
		t.Fatalf("CancelRun: %v", err)
	}
	run, err := h.c.GetRun(ctx(t), wf, runID)
	if err != nil || run.Status != github.StatusCompleted || run.Conclusion != github.ConclusionCancelled {
		t.Fatalf("after cancel: %+v, %v", run, err)
	}
	jobs, _ := h.c.Jobs(ctx(t), wf, runID)
	if got := conclusions(jobs); got["completed/cancelled"] != 4 || got["completed/success"] != 1 {
		t.Errorf("jobs after cancel: %v", got)
	}
	cancels := h.srv.RequestsTo(githubtest.RouteCancel)
	if len(cancels) != 1 || cancels[0].Status != 202 {
		t.Errorf("cancels %+v", cancels)
	}
	err = h.c.CancelRun(ctx(t), wf, runID)
	var api *github.APIError
	if !errors.As(err, &api) || api.Status != 409 {
		t.Errorf("cancelling a completed run: %v", err)
	}
}

func TestJobsReadsEveryPage(t *testing.T) {
	h := setup(t, promote())
	services := make([]string, 250)
	for i := range services {
		services[i] = "svc-" + itoa(int64(i))
	}
	runID := dispatched(t, h, "prod-23", services...)
	jobs, err := h.c.Jobs(ctx(t), wf, runID)
	if err != nil || len(jobs) != 250 {
		t.Fatalf("Jobs = %d jobs, %v", len(jobs), err)
	}
	pages := h.srv.RequestsTo(githubtest.RouteJobs)
	if len(pages) != 3 {
		t.Fatalf("%d pages read, want 3", len(pages))
	}
	for i, p := range pages {
		if p.Query.Get("filter") != "latest" || p.Query.Get("per_page") != "100" || p.Query.Get("page") != itoa(int64(i+1)) {
			t.Errorf("page %d asked as %v", i+1, p.Query)
		}
	}
	legs, unmatched := github.MatchLegs(jobs, services)
	if len(legs) != 250 || len(unmatched) != 0 {
		t.Errorf("MatchLegs: %d legs, %d unmatched", len(legs), len(unmatched))
	}
}

func TestALegNameCutAt100CharactersStillMaps(t *testing.T) {
	prefix := "Promote to aws-prod with terraform apply, image pinned by digest, reviewed by the release managers: "
	h := setup(t, promote(func(w *githubtest.Workflow) { w.JobName = "{service} — " + prefix }))
	services := []string{"saver", "differ"}
	runID := dispatched(t, h, "prod-24", services...)
	jobs, err := h.c.Jobs(ctx(t), wf, runID)
	if err != nil || len(jobs) != 2 {
		t.Fatalf("Jobs = %v, %v", jobs, err)
	}
	for _, j := range jobs {
		if len([]rune(j.Name)) != 100 || !strings.HasSuffix(j.Name, "...") {
			t.Fatalf("job name %q is not cut to 100 characters", j.Name)
		}
	}
	legs, unmatched := github.MatchLegs(jobs, services)
	if len(legs) != 2 || len(unmatched) != 0 || legs["saver"].ID != jobs[0].ID {
		t.Errorf("MatchLegs = %v, %v", legs, unmatched)
	}
}

func TestOnRunCompletedIsCalledOnce(t *testing.T) {
	h := setup(t, promote(fiveLegs))
	var (
		mu   sync.Mutex
		done []githubtest.Run
	)
	h.srv.OnRunCompleted(func(r githubtest.Run) {
		mu.Lock()
		defer mu.Unlock()
		done = append(done, r)
	})
	runID := dispatched(t, h, "prod-25", five...)
	h.clk.Advance(3 * time.Minute)
	h.srv.Tick()
	mu.Lock()
	early := len(done)
	mu.Unlock()
	if early != 0 {
		t.Fatalf("completed early: %+v", done)
	}
	h.clk.Advance(2 * time.Minute)
	h.srv.Tick()
	_, _ = h.c.GetRun(ctx(t), wf, runID)
	mu.Lock()
	defer mu.Unlock()
	if len(done) != 1 || done[0].ID != runID || done[0].Conclusion != "failure" || done[0].Inputs["release_id"] != "prod-25" {
		t.Fatalf("hooks: %+v", done)
	}
}

func TestTheCyberDojoMatrixStyle(t *testing.T) {
	h := setup(t, promote(func(w *githubtest.Workflow) { w.JobName = "Prod apply {service}" }))
	promotions := `[{"incoming_repo_name":"saver","incoming_fingerprint":"` + fp(1) + `"},` +
		`{"incoming_repo_name":"web","incoming_fingerprint":"` + fp(2) + `"}]`
	in := map[string]string{"release_id": "prod-26", "manifest_digest": "sha256:" + fp(3), "promotions": promotions}
	res, err := h.c.Dispatch(ctx(t), wf, in, "prod-26")
	if err != nil {
		t.Fatal(err)
	}
	jobs, _ := h.c.Jobs(ctx(t), wf, res.RunID)
	legs, unmatched := github.MatchLegs(jobs, []string{"saver", "web"})
	if legs["saver"].Name != "Prod apply saver" || legs["web"].Name != "Prod apply web" || len(unmatched) != 0 {
		t.Errorf("MatchLegs = %v, %v", legs, unmatched)
	}
}
