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

// entered records what Options.OnTransition was told, in order.
type entered struct {
	mu     sync.Mutex
	states []release.State
}

func (e *entered) add(s release.State) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.states = append(e.states, s)
}

func (e *entered) got() []release.State {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.states)
}

// withHook is e with a Store that reports its transitions to rec.
func withHook(e *env, rec *entered) *env {
	opts := e.opts
	opts.OnTransition = rec.add
	e.Store = store.New(e.rdb, opts)
	return e
}

// TestOnTransitionOncePerChange: every state change the store writes is
// reported once, with the state entered (the proposal, the approval that
// completed the count, each Transition, each expiry); what changes no state
// (a counted approval, a duplicate, Amend) and a lost compare-and-set are not.
func TestOnTransitionOncePerChange(t *testing.T) {
	both(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		rec := &entered{}
		e = withHook(e, rec)
		r := mustCreate(t, e, proposal("prod", 1, 2))
		approve(t, e, r.ID, "UALICE", digest)
		approve(t, e, r.ID, "UALICE", digest)
		approve(t, e, r.ID, "UBOB", "sha256:0000")
		if res := approve(t, e, r.ID, "UBOB", digest); res.Outcome != store.Approved {
			t.Fatalf("second approval: %+v", res)
		}
		approve(t, e, r.ID, "UCAROL", digest) // wrong state now
		if _, err := e.Amend(ctx, r.ID, 0, func(x *release.Release) { x.MessageTS = "1.2" }); err != nil {
			t.Fatal(err)
		}
		got := mustGet(t, e, r.ID)
		if _, err := e.Transition(ctx, r.ID, release.Dispatching, store.TransitionOpts{From: []release.State{release.Approved}}); err != nil {
			t.Fatal(err)
		}
		// A second mover with the version it read loses and is not counted.
		if _, err := e.Transition(ctx, r.ID, release.Stale, store.TransitionOpts{From: []release.State{release.Approved}, Version: got.Version}); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("stale move on a dispatching release: %v", err)
		}
		for _, to := range []release.State{release.Deploying, release.Succeeded} {
			if _, err := e.Transition(ctx, r.ID, to, store.TransitionOpts{}); err != nil {
				t.Fatal(err)
			}
		}
		want := []release.State{release.Proposed, release.Approved, release.Dispatching, release.Deploying, release.Succeeded}
		if g := rec.got(); !slices.Equal(g, want) {
			t.Errorf("entered %v, want %v", g, want)
		}
	})
}

// TestOnTransitionCountsExpiries: a release expires in the store in two
// places, a click after its window closed and a proposal taking over the
// pipeline from it; both are reported as expired.
func TestOnTransitionCountsExpiries(t *testing.T) {
	both(t, func(t *testing.T, e *env) {
		rec := &entered{}
		e = withHook(e, rec)
		r := mustCreate(t, e, proposal("prod", 1, 2))
		e.clock.Advance(24 * time.Hour)
		if res := approve(t, e, r.ID, "UALICE", digest); res.Outcome != store.Expired {
			t.Fatalf("a click after the window: %+v", res)
		}
		p2 := proposal("prod", 2, 2)
		p2.ExpiresAt = e.clock.Now().Add(time.Hour)
		mustCreate(t, e, p2)
		e.clock.Advance(time.Hour)
		mustCreate(t, e, proposal("prod", 3, 2)) // takes over from the expired #2
		want := []release.State{release.Proposed, release.Expired, release.Proposed, release.Expired, release.Proposed}
		if g := rec.got(); !slices.Equal(g, want) {
			t.Errorf("entered %v, want %v", g, want)
		}
	})
}
