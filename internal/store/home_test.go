package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/store"
	"github.com/release-bot/release-bot/internal/store/redistest"
)

// recentIDs flattens Recent's answer to pipeline → ids, newest first.
func recentIDs(got map[string][]*release.Release) map[string][]string {
	out := map[string][]string{}
	for p, rs := range got {
		for _, r := range rs {
			out[p] = append(out[p], r.ID)
		}
	}
	return out
}

// TestRecentReadsManyPipelinesNewestFirst: each pipeline's newest releases
// up to the limit, with their state and approvals; a pipeline without
// releases is absent, and one past retention is skipped. Manifests reads
// those of several pipelines at once, leaving out a release that has none.
func TestRecentReadsManyPipelinesNewestFirst(t *testing.T) {
	t.Parallel()
	both(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		for n := 1; n <= 3; n++ {
			r := mustCreate(t, e, proposal("prod", n, 2))
			if n < 3 {
				if _, err := e.Transition(ctx, r.ID, release.Cancelled, store.TransitionOpts{By: "UPROPOSER"}); err != nil {
					t.Fatal(err)
				}
			}
			e.clock.Advance(time.Minute)
		}
		mustCreate(t, e, proposal("stage", 1, 1))
		approve(t, e, "prod-2026-11-24-3", "U0BOB000001", digest)

		got, err := e.reopen().Recent(ctx, []string{"prod", "stage", "qa"}, 2)
		if err != nil {
			t.Fatal(err)
		}
		ids := recentIDs(got)
		if !slices.Equal(ids["prod"], []string{"prod-2026-11-24-3", "prod-2026-11-24-2"}) || !slices.Equal(ids["stage"], []string{"stage-2026-11-24-1"}) {
			t.Errorf("recent = %v", ids)
		}
		if _, ok := got["qa"]; ok {
			t.Errorf("qa has no release but is in %v", ids)
		}
		if r := got["prod"][0]; r.State != release.Proposed || len(r.Approvals) != 1 || r.Version == 0 {
			t.Errorf("prod's newest = %+v", r)
		}
		if r := got["prod"][1]; r.State != release.Cancelled {
			t.Errorf("prod's second = %s, want cancelled", r.State)
		}
		ms, err := e.Manifests(ctx, []string{"prod-2026-11-24-3", "stage-2026-11-24-1", "qa-2026-11-24-9"})
		if err != nil || len(ms) != 2 || string(ms["stage-2026-11-24-1"]) != `{"schemaVersion":1}` {
			t.Errorf("manifests = %q, %v (qa's release does not exist)", ms, err)
		}
		if got, err := e.Recent(ctx, []string{"prod"}, 0); err != nil || len(got) != 0 {
			t.Errorf("limit 0 = %v, %v", got, err)
		}
		if e.mr != nil {
			// Past retention, a finished release's keys expire and its
			// index entry is left behind: Recent skips it.
			e.clock.Advance(store.DefaultRetention + time.Hour)
			got, err := e.Recent(ctx, []string{"prod"}, 5)
			if err != nil || !slices.Equal(recentIDs(got)["prod"], []string{"prod-2026-11-24-3"}) {
				t.Errorf("after retention = %v, %v", recentIDs(got), err)
			}
		}
	})
}

// TestHomeViewersAreRecentFirstAndForgotten: a second opening moves a user
// first; since and limit bound the answer; an opening forgets those who
// have not opened the Home within keep.
func TestHomeViewersAreRecentFirstAndForgotten(t *testing.T) {
	t.Parallel()
	both(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		const keep = 30 * 24 * time.Hour
		open := func(user string, at time.Time) {
			t.Helper()
			if err := e.HomeOpened(ctx, user, at, keep); err != nil {
				t.Fatal(err)
			}
		}
		open("U1", t0)
		open("U2", t0.Add(time.Minute))
		open("U1", t0.Add(2*time.Minute))
		got, err := e.reopen().HomeViewers(ctx, t0, 10)
		if err != nil || !slices.Equal(got, []string{"U1", "U2"}) {
			t.Errorf("viewers = %v, %v", got, err)
		}
		if got, _ := e.HomeViewers(ctx, t0.Add(90*time.Second), 10); !slices.Equal(got, []string{"U1"}) {
			t.Errorf("since 90s = %v", got)
		}
		if got, _ := e.HomeViewers(ctx, t0, 1); !slices.Equal(got, []string{"U1"}) {
			t.Errorf("limit 1 = %v", got)
		}
		open("U3", t0.Add(keep+90*time.Second))
		if got, _ := e.HomeViewers(ctx, time.Time{}, 10); !slices.Equal(got, []string{"U3", "U1"}) {
			t.Errorf("after U2 went unseen past keep = %v", got)
		}
	})
}

// TestRecentOnRedisCluster: Recent's two pipelines span the masters of a
// real Redis Cluster (a MULTI there would fail with CROSSSLOT).
func TestRecentOnRedisCluster(t *testing.T) {
	t.Parallel()
	cl := redistest.StartCluster(t, redistest.ClusterOptions{})
	s := store.New(cl.Client(t), store.Options{Now: (&clock{t: t0}).Now})
	ctx := context.Background()
	pipelines := []string{"prod", "stage", "dev", "qa"}
	masters := map[*redistest.Server]bool{}
	for _, p := range pipelines {
		m, err := cl.MasterOf(ctx, "{"+p+"}")
		if err != nil {
			t.Fatal(err)
		}
		masters[m] = true
		if err := s.Create(ctx, proposal(p, 1, 1), []byte(`{"schemaVersion":1}`), nil); err != nil {
			t.Fatal(err)
		}
	}
	if len(masters) < 2 {
		t.Fatal("the pipelines all hash to one master")
	}
	got, err := s.Recent(ctx, pipelines, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pipelines {
		if ids := recentIDs(got)[p]; !slices.Equal(ids, []string{p + "-2026-11-24-1"}) {
			t.Errorf("%s: %v", p, ids)
		}
	}
	if err := s.HomeOpened(ctx, "U1", t0, time.Hour); err != nil {
		t.Fatal(err)
	}
	if v, err := s.HomeViewers(ctx, t0, 5); err != nil || !slices.Equal(v, []string{"U1"}) {
		t.Errorf("viewers = %v, %v", v, err)
	}
}
