package github_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/release-bot/release-bot/internal/github"
	"github.com/release-bot/release-bot/internal/github/githubtest"
)

func TestASecondaryRateLimitIsWaitedOutAsAsked(t *testing.T) {
	h := setup(t, promote())
	runID := dispatched(t, h, "prod-30", "saver")
	h.srv.Script(githubtest.RouteRun, githubtest.SecondaryLimit(7))
	run, err := h.c.GetRun(ctx(t), wf, runID)
	if err != nil || run.ID != runID {
		t.Fatalf("GetRun = %+v, %v", run, err)
	}
	if got := h.Waits(); len(got) != 1 || got[0] != 7*time.Second {
		t.Errorf("waits = %v, want [7s]", got)
	}
	if !strings.Contains(h.log.String(), `"secondary":true`) {
		t.Errorf("the wait is not logged: %s", h.log.String())
	}
}

func TestAPrimaryRateLimitIsWaitedOutUntilItsReset(t *testing.T) {
	h := setup(t, promote())
	runID := dispatched(t, h, "prod-31", "saver")
	h.srv.Script(githubtest.RouteJobs, githubtest.PrimaryLimit(h.clk.Now().Add(42*time.Second)))
	if _, err := h.c.Jobs(ctx(t), wf, runID); err != nil {
		t.Fatal(err)
	}
	if got := h.Waits(); len(got) != 1 || got[0] != 42*time.Second {
		t.Errorf("waits = %v, want [42s]", got)
	}
}

func TestARateLimitNamingNoWaitBacksOffFromAMinute(t *testing.T) {
	h := setup(t, promote())
	runID := dispatched(t, h, "prod-32", "saver")
	h.srv.Script(githubtest.RouteRun, githubtest.SecondaryLimit(0), githubtest.SecondaryLimit(0))
	if _, err := h.c.GetRun(ctx(t), wf, runID); err != nil {
		t.Fatal(err)
	}
	if got := h.Waits(); len(got) != 2 || got[0] != time.Minute || got[1] != 2*time.Minute {
		t.Errorf("waits = %v, want [1m 2m]", got)
	}
}

// A wait beyond the policy's Max is not shortened (that request would be
// refused too) but handed to the caller with the reset to schedule by.
func TestALongerWaitThanMaxGoesToTheCaller(t *testing.T) {
	h := setup(t, promote())
	runID := dispatched(t, h, "prod-33", "saver")
	reset := h.clk.Now().Add(40 * time.Minute)
	h.srv.Script(githubtest.RouteRun, githubtest.PrimaryLimit(reset))
	_, err := h.c.GetRun(ctx(t), wf, runID)
	var rl *github.RateLimitError
	if !errors.As(err, &rl) || !errors.Is(err, github.ErrRateLimited) || rl.Secondary || !rl.Reset.Equal(reset) || rl.RetryAfter != 40*time.Minute {
		t.Fatalf("GetRun error = %#v", err)
	}
	if len(h.Waits()) != 0 || len(h.srv.RequestsTo(githubtest.RouteRun)) != 1 {
		t.Errorf("waits %v, %d requests", h.Waits(), len(h.srv.RequestsTo(githubtest.RouteRun)))
	}
}

func TestA429IsARateLimit(t *testing.T) {
	h := setup(t, promote())
	runID := dispatched(t, h, "prod-34", "saver")
	h.srv.Script(githubtest.RouteRun, githubtest.Response{Status: 429, Headers: map[string]string{"Retry-After": "3"}, Body: `{"message": "Too Many Requests"}`})
	if _, err := h.c.GetRun(ctx(t), wf, runID); err != nil {
		t.Fatal(err)
	}
	if got := h.Waits(); len(got) != 1 || got[0] != 3*time.Second {
		t.Errorf("waits = %v, want [3s]", got)
	}
}

func TestTheFakesOwnPrimaryLimit(t *testing.T) {
	h := setup(t, promote())
	runID := dispatched(t, h, "prod-35", "saver")
	h.srv.SetRateLimit(2)
	if _, err := h.c.GetRun(ctx(t), wf, runID); err != nil {
		t.Fatal(err)
	}
	if _, err := h.c.Jobs(ctx(t), wf, runID); err != nil {
		t.Fatal(err)
	}
	_, _, err := h.c.FindRun(ctx(t), wf, "prod-35", start)
	var rl *github.RateLimitError
	if !errors.As(err, &rl) || rl.Secondary || rl.RetryAfter != time.Hour || !rl.Reset.Equal(start.Add(time.Hour)) {
		t.Fatalf("a third request = %v", err)
	}
}

func TestServerErrorsAreRetriedForReadsOnly(t *testing.T) {
	h := setup(t, promote(fiveLegs))
	runID := dispatched(t, h, "prod-36", five...)
	h.srv.FailNext(githubtest.RouteJobs, 2, 502)
	if _, err := h.c.Jobs(ctx(t), wf, runID); err != nil {
		t.Fatalf("Jobs after two 502s: %v", err)
	}
	if n := len(h.srv.RequestsTo(githubtest.RouteJobs)); n != 3 {
		t.Errorf("%d job requests, want 3", n)
	}
	h.srv.FailNext(githubtest.RouteCancel, 1, 502)
	err := h.c.CancelRun(ctx(t), wf, runID)
	var api *github.APIError
	if !errors.As(err, &api) || api.Status != 502 || len(h.srv.RequestsTo(githubtest.RouteCancel)) != 1 {
		t.Errorf("CancelRun after a 502: %v, %d requests", err, len(h.srv.RequestsTo(githubtest.RouteCancel)))
	}
}

func TestAHungReadTimesOutAndIsRetried(t *testing.T) {
	h := setup(t, promote(), func(o *github.Options) { o.Timeout = 200 * time.Millisecond })
	runID := dispatched(t, h, "prod-37", "saver")
	h.srv.Script(githubtest.RouteRun, githubtest.Response{Hang: true})
	if _, err := h.c.GetRun(ctx(t), wf, runID); err != nil {
		t.Fatalf("GetRun after a hang: %v", err)
	}
	h.srv.Script(githubtest.RouteRun, githubtest.Response{Hang: true}, githubtest.Response{Hang: true},
		githubtest.Response{Hang: true}, githubtest.Response{Hang: true})
	_, err := h.c.GetRun(ctx(t), wf, runID)
	var un *github.UnreachableError
	if !errors.As(err, &un) || un.Timeout != 200*time.Millisecond {
		t.Errorf("GetRun after 4 hangs: %v", err)
	}
}

func TestErrorsSayWhatToCheck(t *testing.T) {
	h := setup(t, promote())
	runID := dispatched(t, h, "prod-38", "saver")
	for _, tc := range []struct {
		fault    githubtest.Response
		sentinel error
		says     string
	}{
		{githubtest.Response{Status: 401, Body: `{"message": "Bad credentials"}`}, github.ErrUnauthorized, "GITHUB_TOKEN"},
		{githubtest.Response{Status: 403, Body: `{"message": "Resource not accessible by personal access token"}`}, github.ErrForbidden, "Actions read and write"},
		{githubtest.Response{Status: 404, Body: `{"message": "Not Found"}`}, github.ErrNotFound, "no run " + itoa(runID) + " in acme/shop"},
	} {
		h.srv.Script(githubtest.RouteRun, tc.fault)
		_, err := h.c.GetRun(ctx(t), wf, runID)
		if !errors.Is(err, tc.sentinel) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%d: %v; want %v saying %q", tc.fault.Status, err, tc.sentinel, tc.says)
		}
	}
	if _, err := h.c.GetRun(ctx(t), wf, 12345); !errors.Is(err, github.ErrNotFound) {
		t.Errorf("an unknown run: %v", err)
	}
}
