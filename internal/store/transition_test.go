package store_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/store"
)

// approved creates a release and approves it with one approval.
func approved(t *testing.T, e *env, pipeline string) *release.Release {
	t.Helper()
	r := mustCreate(t, e, proposal(pipeline, 1, 1))
	if res := approve(t, e, r.ID, "UALICE", digest); res.Outcome != store.Approved {
		t.Fatalf("approve: %+v", res)
	}
	return mustGet(t, e, r.ID)
}

func TestOnlyOneDispatch(t *testing.T) {
	both(t, func(t *testing.T, e *env) {
		r := approved(t, e, "prod")
		const n = 10
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				// Each caller is a replica that read the approved release and decided to dispatch it.
				_, errs[i] = e.reopen().Transition(context.Background(), r.ID, release.Dispatching, store.TransitionOpts{
					From: []release.State{release.Approved},
					Update: func(r *release.Release) {
						r.Run = &release.Run{DispatchedAt: t0}
					},
				})
			})
		}
		close(start)
		wg.Wait()
		won := 0
		for _, err := range errs {
			var c *store.ConflictError
			switch {
			case err == nil:
				won++
			case errors.As(err, &c) && errors.Is(err, store.ErrConflict):
				if c.State != release.Dispatching {
					t.Errorf("loser sees %s, want dispatching", c.State)
				}
			default:
				t.Errorf("Transition: %v", err)
			}
		}
		if won != 1 {
			t.Fatalf("%d callers moved approved → dispatching, want exactly 1", won)
		}
		got := mustGet(t, e, r.ID)
		if want := []string{"→proposed", "proposed→approved", "approved→dispatching"}; !slices.Equal(states(got.History), want) {
			t.Errorf("history %v, want %v", states(got.History), want)
		}
		if got.Run == nil || !got.Run.DispatchedAt.Equal(t0) {
			t.Errorf("the update was not written: %+v", got.Run)
		}
	})
}

func TestTransitionWholeLife(t *testing.T) {
	both(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		r := approved(t, e, "prod")
		steps := []struct {
			to   release.State
			note string
		}{{release.Dispatching, "dispatching"}, {release.Deploying, "run 42"}, {release.Succeeded, "verified in aws-prod#3549"}}
		for i, step := range steps {
			e.clock.Advance(time.Minute)
			got, err := e.Transition(ctx, r.ID, step.to, store.TransitionOpts{Note: step.note, Update: func(r *release.Release) {
				r.Run = &release.Run{ID: 42, Status: string(step.to)}
				r.ManifestDigest = "sha256:forged" // frozen: discarded
				r.Required = 0                     // frozen: discarded
			}})
			if err != nil {
				t.Fatalf("→ %s: %v", step.to, err)
			}
			if got.State != step.to || got.Version != r.Version+int64(i)+1 || got.Run.Status != string(step.to) {
				t.Errorf("→ %s returned %s v%d %+v", step.to, got.State, got.Version, got.Run)
			}
			if stored := mustGet(t, e, r.ID); stored.Version != got.Version || stored.ManifestDigest != digest || stored.Required != 1 {
				t.Errorf("stored v%d digest %s required %d", stored.Version, stored.ManifestDigest, stored.Required)
			} else if !slices.Equal(stored.History, got.History) {
				t.Errorf("returned history %+v\n  stored %+v", got.History, stored.History)
			}
		}
		got := mustGet(t, e, r.ID)
		want := []string{"→proposed", "proposed→approved", "approved→dispatching", "dispatching→deploying", "deploying→succeeded"}
		if !slices.Equal(states(got.History), want) {
			t.Errorf("history %v", states(got.History))
		}
		if last := got.History[4]; last.Note != "verified in aws-prod#3549" || !last.At.Equal(t0.Add(3*time.Minute)) {
			t.Errorf("last entry %+v", last)
		}
		// Nothing leaves a terminal state.
		_, err := e.Transition(ctx, r.ID, release.Cancelled, store.TransitionOpts{})
		var c *store.ConflictError
		if !errors.As(err, &c) || c.State != release.Succeeded {
			t.Errorf("cancel a succeeded release: %v", err)
		}
	})
}

func TestTransitionRefusals(t *testing.T) {
	both(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		r := mustCreate(t, e, proposal("prod", 1, 2))
		if _, err := e.Transition(ctx, r.ID, release.Dispatching, store.TransitionOpts{From: []release.State{release.Proposed}}); !errors.Is(err, store.ErrInvalidMove) {
			t.Errorf("proposed → dispatching: %v", err)
		}
		if _, err := e.Transition(ctx, r.ID, release.Dispatching, store.TransitionOpts{}); !errors.Is(err, store.ErrConflict) {
			t.Errorf("proposed → dispatching without From: %v", err)
		}
		if _, err := e.Transition(ctx, r.ID, release.Cancelled, store.TransitionOpts{From: []release.State{release.Approved}}); !errors.Is(err, store.ErrConflict) {
			t.Errorf("cancel from approved while proposed: %v", err)
		}
		approve(t, e, r.ID, "UALICE", digest) // version 2
		if _, err := e.Transition(ctx, r.ID, release.Cancelled, store.TransitionOpts{Version: 1}); !errors.Is(err, store.ErrConflict) {
			t.Errorf("cancel pinned to an old version: %v", err)
		}
		if _, err := e.Transition(ctx, "prod-2026-11-24-9", release.Cancelled, store.TransitionOpts{}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("missing release: %v", err)
		}
		if got := mustGet(t, e, r.ID); got.State != release.Proposed || got.Version != 2 || len(got.History) != 1 {
			t.Errorf("refused transitions changed the release: %s v%d %v", got.State, got.Version, states(got.History))
		}
		if _, err := e.Transition(ctx, r.ID, release.Cancelled, store.TransitionOpts{Version: 2, By: "UPROPOSER"}); err != nil {
			t.Errorf("cancel pinned to the current version: %v", err)
		}
	})
}

func TestTerminalTransitionFreesLockAndSetsRetention(t *testing.T) {
	both(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		r := mustCreate(t, e, proposal("prod", 1, 2))
		approve(t, e, r.ID, "UALICE", digest)
		keys := []string{"", ":approvals", ":history", ":manifest"}
		for _, k := range keys {
			if d := ttl(t, e, e.prefix+"{prod}:release:"+r.ID+k); d != -1 {
				t.Errorf("open release key %q has TTL %v", k, d)
			}
		}
		if _, err := e.Transition(ctx, r.ID, release.Cancelled, store.TransitionOpts{By: "UPROPOSER"}); err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if d := ttl(t, e, e.prefix+"{prod}:release:"+r.ID+k); d <= store.DefaultRetention-time.Minute || d > store.DefaultRetention {
				t.Errorf("finished release key %q has TTL %v, want %v", k, d, store.DefaultRetention)
			}
		}
		if n, _ := e.rdb.Exists(ctx, e.prefix+"{prod}:active").Result(); n != 0 {
			t.Error("the lock outlived the release")
		}
		if e.mr != nil {
			e.clock.Advance(store.DefaultRetention)
			if _, err := e.Get(ctx, r.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("after retention: %v", err)
			}
		}
	})
}

func TestTerminalTransitionLeavesAnotherReleasesLock(t *testing.T) {
	both(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		r := mustCreate(t, e, proposal("prod", 1, 2))
		lock := e.prefix + "pipeline:prod:active"
		// Whatever put another id there (an operator, a bug), it is not ours to free.
		if err := e.rdb.Set(ctx, lock, "prod-2026-11-24-2", 0).Err(); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Transition(ctx, r.ID, release.Cancelled, store.TransitionOpts{}); err != nil {
			t.Fatal(err)
		}
		if got, _ := e.rdb.Get(ctx, lock).Result(); got != "prod-2026-11-24-2" {
			t.Errorf("lock = %q, want the other release's", got)
		}
	})
}

func TestRetentionIsConfigurable(t *testing.T) {
	e := newMini(t)
	e.Store = store.New(e.rdb, store.Options{Now: e.clock.Now, Retention: time.Hour})
	r := mustCreate(t, e, proposal("prod", 1, 1))
	if _, err := e.Transition(context.Background(), r.ID, release.Cancelled, store.TransitionOpts{}); err != nil {
		t.Fatal(err)
	}
	if d := ttl(t, e, "rb:{prod}:release:"+r.ID); d != time.Hour {
		t.Errorf("TTL %v, want 1h", d)
	}
}

func TestAmend(t *testing.T) {
	both(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		r := mustCreate(t, e, proposal("prod", 1, 2))
		got, err := e.Amend(ctx, r.ID, 1, func(r *release.Release) {
			r.Evidence.URL = "https://app.kosli.com/trail"
			r.State = release.Succeeded // store-owned: discarded
		})
		if err != nil {
			t.Fatal(err)
		}
		if got.State != release.Proposed || got.Version != 2 || got.Evidence.URL == "" || len(got.History) != 1 {
			t.Errorf("Amend returned %s v%d %+v", got.State, got.Version, got.Evidence)
		}
		if stored := mustGet(t, e, r.ID); stored.Evidence.URL == "" || stored.State != release.Proposed || len(stored.History) != 1 {
			t.Errorf("stored %+v", stored)
		}
		if _, err := e.Amend(ctx, r.ID, 1, func(*release.Release) {}); !errors.Is(err, store.ErrConflict) {
			t.Errorf("Amend of an old version: %v", err)
		}
	})
}

// A change that keeps the state acceptable (here, an approval) is retried
// when the caller did not pin a version; a pinned one is a conflict.
func TestTransitionRetriesAnUnpinnedConflict(t *testing.T) {
	both(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		r := mustCreate(t, e, proposal("prod", 1, 3))
		calls := 0
		got, err := e.Transition(ctx, r.ID, release.Cancelled, store.TransitionOpts{Update: func(*release.Release) {
			if calls++; calls == 1 {
				approve(t, e, r.ID, "UALICE", digest) // another replica writes in between
			}
		}})
		if err != nil {
			t.Fatal(err)
		}
		if calls != 2 || got.State != release.Cancelled || got.Version != 3 || !got.HasApproved("UALICE") {
			t.Errorf("after %d calls: %s v%d approvers %v", calls, got.State, got.Version, got.Approvers())
		}
	})
}
