package github_test

import (
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/release-bot/release-bot/internal/github"
	"github.com/release-bot/release-bot/internal/github/githubtest"
)

func TestDispatchTakesTheRunIDFromThe200(t *testing.T) {
	h := setup(t, promote())
	res, err := h.c.Dispatch(ctx(t), wf, inputs("prod-2026-03-02-1", "saver", "web"), "prod-2026-03-02-1")
	if err != nil {
		t.Fatal(err)
	}
	runs := h.srv.Runs()
	if len(runs) != 1 || !res.Found || res.RunID != runs[0].ID {
		t.Fatalf("Dispatch = %+v; runs %+v", res, runs)
	}
	if want := "https://github.com/acme/shop/actions/runs/" + itoa(res.RunID); res.HTMLURL != want {
		t.Errorf("HTMLURL = %q, want %q", res.HTMLURL, want)
	}
	if runs[0].DisplayTitle != "Promote prod-2026-03-02-1" || len(runs[0].Jobs) != 2 {
		t.Errorf("run = %+v", runs[0])
	}
	posts := h.srv.RequestsTo(githubtest.RouteDispatch)
	if len(posts) != 1 {
		t.Fatalf("%d dispatches sent, want 1", len(posts))
	}
	var sent struct {
		Ref     string            `json:"ref"`
		Inputs  map[string]string `json:"inputs"`
		Details bool              `json:"return_run_details"`
	}
	if err := json.Unmarshal(posts[0].Body, &sent); err != nil || sent.Ref != "main" || !sent.Details || sent.Inputs["release_id"] != "prod-2026-03-02-1" {
		t.Errorf("sent %s (%v)", posts[0].Body, err)
	}
	if posts[0].Path != "/repos/acme/shop/actions/workflows/promote.yml/dispatches" || posts[0].UserAgent != "release-bot/test" {
		t.Errorf("sent to %s as %q", posts[0].Path, posts[0].UserAgent)
	}
	if n := len(h.srv.RequestsTo(githubtest.RouteRuns)); n != 0 {
		t.Errorf("%d run searches after a 200 with the run id", n)
	}
}

func TestDispatchFindsTheRunByItsNameAfterA204(t *testing.T) {
	h := setup(t, promote())
	h.srv.SetDispatchMode(githubtest.ModeNoContent)
	res, err := h.c.Dispatch(ctx(t), wf, inputs("prod-7", "saver"), "prod-7")
	if err != nil {
		t.Fatal(err)
	}
	runs := h.srv.Runs()
	if len(runs) != 1 || !res.Found || res.RunID != runs[0].ID || res.RunURL == "" {
		t.Fatalf("Dispatch = %+v; runs %+v", res, runs)
	}
	searches := h.srv.RequestsTo(githubtest.RouteRuns)
	if len(searches) != 1 {
		t.Fatalf("%d searches, want 1", len(searches))
	}
	q := searches[0].Query
	want := url.Values{"event": {"workflow_dispatch"}, "branch": {"main"}, "created": {">=2026-03-02T08:58:00Z"}, "per_page": {"100"}, "page": {"1"}}
	for k, v := range want {
		if q.Get(k) != v[0] {
			t.Errorf("search %s = %q, want %q", k, q.Get(k), v[0])
		}
	}
}

func TestDispatchToAnOlderGHESSendsThePlainDispatchOnce(t *testing.T) {
	h := setup(t, promote())
	h.srv.SetDispatchMode(githubtest.ModeOldGHES)
	res, err := h.c.Dispatch(ctx(t), wf, inputs("prod-8", "saver"), "prod-8")
	if err != nil {
		t.Fatal(err)
	}
	runs := h.srv.Runs()
	if len(runs) != 1 || !res.Found || res.RunID != runs[0].ID {
		t.Fatalf("Dispatch = %+v; runs %+v", res, runs)
	}
	posts := h.srv.RequestsTo(githubtest.RouteDispatch)
	if len(posts) != 2 || posts[0].Status != 422 || posts[1].Status != 204 {
		t.Fatalf("dispatches %+v, want a 422 then a 204", posts)
	}
	var plain map[string]any
	_ = json.Unmarshal(posts[1].Body, &plain)
	if _, ok := plain["return_run_details"]; ok {
		t.Errorf("the second dispatch still asks for run details: %s", posts[1].Body)
	}
}

// After a dispatch whose answer is lost, the run exists; the client must
// not POST again, and the caller finds the run.
func TestAnAmbiguousDispatchIsNeverSentTwice(t *testing.T) {
	for name, fault := range map[string]githubtest.Response{
		"502":          {Status: 502, Body: `{"message": "Server Error"}`, Process: true},
		"timeout":      {Hang: true, Process: true},
		"reset":        {Disconnect: true, Process: true},
		"503 unproven": {Status: 503, Body: `{"message": "Service Unavailable"}`, Process: true},
	} {
		t.Run(name, func(t *testing.T) {
			h := setup(t, promote(), func(o *github.Options) { o.Timeout = 300 * time.Millisecond })
			h.srv.Script(githubtest.RouteDispatch, fault)
			_, err := h.c.Dispatch(ctx(t), wf, inputs("prod-9", "saver"), "prod-9")
			var amb *github.AmbiguousDispatchError
			if !errors.As(err, &amb) {
				t.Fatalf("Dispatch error = %v, want an AmbiguousDispatchError", err)
			}
			if n := len(h.srv.RequestsTo(githubtest.RouteDispatch)); n != 1 {
				t.Fatalf("%d dispatches sent, want exactly 1", n)
			}
			run, found, err := h.c.FindRun(ctx(t), amb.Workflow, amb.ReleaseID, amb.Since)
			if err != nil || !found || run.ID != h.srv.Runs()[0].ID {
				t.Fatalf("FindRun = %+v, %v, %v", run, found, err)
			}
			if len(h.srv.Runs()) != 1 {
				t.Errorf("%d runs", len(h.srv.Runs()))
			}
		})
	}
}

func TestNoRunEverAppearing(t *testing.T) {
	h := setup(t, promote())
	h.srv.SetDispatchMode(githubtest.ModeNoContent)
	h.srv.Script(githubtest.RouteDispatch, githubtest.Response{Status: 204}) // accepted, and nothing runs
	res, err := h.c.Dispatch(ctx(t), wf, inputs("prod-10", "saver"), "prod-10")
	if err != nil || res.Found {
		t.Fatalf("Dispatch = %+v, %v; want accepted and not found", res, err)
	}
	if w := h.waited(); w < github.DefaultFindRunWithin || w > github.DefaultFindRunWithin+15*time.Second {
		t.Errorf("Dispatch looked for %s, want about %s", w, github.DefaultFindRunWithin)
	}
	searches := len(h.srv.RequestsTo(githubtest.RouteRuns))
	_, found, err := h.c.WaitForRun(ctx(t), wf, "prod-10", start, 5*time.Minute)
	if err != nil || found {
		t.Fatalf("WaitForRun = %v, %v", found, err)
	}
	more := len(h.srv.RequestsTo(githubtest.RouteRuns)) - searches
	if more < 5 || more > 40 {
		t.Errorf("WaitForRun searched %d times in 5 minutes", more)
	}
	if n := len(h.srv.RequestsTo(githubtest.RouteDispatch)); n != 1 {
		t.Errorf("%d dispatches sent", n)
	}
}

func TestARunWithoutTheReleaseInItsNameIsNotFound(t *testing.T) {
	h := setup(t, promote(func(w *githubtest.Workflow) { w.NoRunName = true }))
	h.srv.SetDispatchMode(githubtest.ModeNoContent)
	res, err := h.c.Dispatch(ctx(t), wf, inputs("prod-11", "saver"), "prod-11")
	if err != nil || res.Found || len(h.srv.Runs()) != 1 {
		t.Fatalf("Dispatch = %+v, %v with %d runs", res, err, len(h.srv.Runs()))
	}
}

func TestFindRunMatchesTheWholeReleaseID(t *testing.T) {
	h := setup(t, promote())
	twelve := dispatched(t, h, "prod-12", "saver")
	h.clk.Advance(time.Minute)
	one := dispatched(t, h, "prod-1", "saver")
	for id, want := range map[string]int64{"prod-1": one, "prod-12": twelve} {
		run, found, err := h.c.FindRun(ctx(t), wf, id, start)
		if err != nil || !found || run.ID != want {
			t.Errorf("FindRun(%s) = %d, %v, %v; want %d", id, run.ID, found, err, want)
		}
	}
	if _, found, _ := h.c.FindRun(ctx(t), wf, "prod", start); found {
		t.Error("FindRun(prod) found a run")
	}
}

func TestAnUndeclaredInputIsRefusedWithGitHubsMessage(t *testing.T) {
	h := setup(t, promote())
	in := inputs("prod-13", "saver")
	in["environment"] = "aws-prod"
	_, err := h.c.Dispatch(ctx(t), wf, in, "prod-13")
	var api *github.APIError
	if !errors.As(err, &api) || !errors.Is(err, github.ErrInvalid) || api.Status != 422 || api.Message != `Unexpected inputs provided: ["environment"]` {
		t.Fatalf("Dispatch error = %#v", err)
	}
	var amb *github.AmbiguousDispatchError
	if errors.As(err, &amb) || len(h.srv.Runs()) != 0 || len(h.srv.RequestsTo(githubtest.RouteDispatch)) != 1 {
		t.Errorf("a refused dispatch: ambiguous %v, %d runs", errors.As(err, &amb), len(h.srv.Runs()))
	}
}

func TestDispatchRefusesBeforeSending(t *testing.T) {
	h := setup(t, promote())
	many := map[string]string{}
	for i := range 26 {
		many["input_"+itoa(int64(i))] = "x"
	}
	huge := inputs("prod-14", "saver")
	huge["promotions"] = string(make([]byte, 70000))
	for name, tc := range map[string]struct {
		wf        github.Workflow
		in        map[string]string
		releaseID string
	}{
		"no release id": {wf, inputs("", "saver"), ""},
		"bad repo":      {github.Workflow{Owner: "acme/x", Repo: "shop", File: "promote.yml", Ref: "main"}, inputs("r", "saver"), "r"},
		"path as file":  {github.Workflow{Owner: "acme", Repo: "shop", File: ".github/workflows/promote.yml", Ref: "main"}, inputs("r", "saver"), "r"},
		"no ref":        {github.Workflow{Owner: "acme", Repo: "shop", File: "promote.yml"}, inputs("r", "saver"), "r"},
		"26 inputs":     {wf, many, "r"},
		"too long":      {wf, huge, "r"},
	} {
		_, err := h.c.Dispatch(ctx(t), tc.wf, tc.in, tc.releaseID)
		var v *github.ValidationError
		if !errors.As(err, &v) {
			t.Errorf("%s: error = %v, want a ValidationError", name, err)
		}
	}
	if n := len(h.srv.Requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

func TestADispatchRefusedByARateLimitIsSentAgainAfterTheWait(t *testing.T) {
	h := setup(t, promote())
	h.srv.Script(githubtest.RouteDispatch, githubtest.SecondaryLimit(5))
	runID := dispatched(t, h, "prod-15", "saver")
	if got := h.Waits(); len(got) != 1 || got[0] != 5*time.Second {
		t.Errorf("waits = %v, want [5s]", got)
	}
	if runs := h.srv.Runs(); len(runs) != 1 || runs[0].ID != runID {
		t.Errorf("runs = %+v", runs)
	}
}

func TestNewWorkflow(t *testing.T) {
	w, err := github.NewWorkflow("cyber-dojo/aws-prod-co-promotion", "promote_all.yml", "main")
	if err != nil || w.Owner != "cyber-dojo" || w.Repo != "aws-prod-co-promotion" || w.String() != "cyber-dojo/aws-prod-co-promotion/.github/workflows/promote_all.yml@main" {
		t.Errorf("NewWorkflow = %+v, %v", w, err)
	}
	for _, bad := range []string{"cyber-dojo", "/x", "a/b/c", "-a/b", "a/.."} {
		if _, err := github.NewWorkflow(bad, "promote.yml", "main"); err == nil {
			t.Errorf("NewWorkflow(%q) accepted", bad)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
