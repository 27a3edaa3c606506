package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/store"
	"github.com/release-bot/release-bot/internal/store/redistest"
)

// newSentinel is a store on a master with one replica behind three
// Sentinels, whose decisions wait for that replica. The wait is 2s
// (below go-redis's 3s read timeout): 300ms was too short for a replica's ack on a loaded CI
// machine, where the first approval failed with "0 of 1".
func newSentinel(t *testing.T) (*env, *redistest.Topology) {
	tp := redistest.StartTopology(t, redistest.TopologyOptions{})
	rdb := tp.Client(t)
	c := &clock{t: t0}
	opts := store.Options{Now: c.Now, Durable: store.Durability{Replicas: 1, Timeout: 2 * time.Second}}
	return &env{Store: store.New(rdb, opts), rdb: rdb, clock: c, prefix: store.DefaultPrefix, opts: opts}, tp
}

// TestDurableDecisionsWaitForTheReplica: with a replica, approvals and
// decisions succeed once it has them; with the replica gone they are on the
// master but reported ErrNotDurable, with the result Redis gave, so that the
// person is not told they were recorded. A repeated click counts once.
func TestDurableDecisionsWaitForTheReplica(t *testing.T) {
	t.Parallel()
	e, tp := newSentinel(t)
	ctx := context.Background()
	mustCreate(t, e, proposal("prod", 1, 2))
	mustCreate(t, e, proposal("stage", 1, 1))
	if res := approve(t, e, "prod-2026-11-24-1", "U1", digest); res.Outcome != store.Counted {
		t.Fatalf("first approval: %s", res.Outcome)
	}
	if _, err := e.Reject(ctx, "stage-2026-11-24-1", release.Decision{UserID: "U1", Reason: "no"}); err != nil {
		t.Fatalf("Reject with a replica: %v", err)
	}

	tp.Replicas[0].Kill(t)
	res, err := e.Approve(ctx, "prod-2026-11-24-1", release.Approval{UserID: "U2", Digest: digest})
	if !errors.Is(err, store.ErrNotDurable) {
		t.Fatalf("Approve without a replica: err %v, want ErrNotDurable", err)
	}
	if res.Outcome != store.Approved {
		t.Errorf("the result as Redis gave it: %s, want approved", res.Outcome)
	}
	var nd *store.NotDurableError
	if !errors.As(err, &nd) || nd.Want != 1 || nd.Got != 0 {
		t.Errorf("NotDurableError: %+v", nd)
	}
	if _, err := e.Transition(ctx, "prod-2026-11-24-1", release.Dispatching, store.TransitionOpts{From: []release.State{release.Approved}}); !errors.Is(err, store.ErrNotDurable) {
		t.Errorf("dispatch claim without a replica: %v, want ErrNotDurable", err)
	}
	// Progress is not a decision: it does not wait.
	if _, err := e.Amend(ctx, "prod-2026-11-24-1", 0, func(r *release.Release) { r.MessageTS = "1.2" }); err != nil {
		t.Errorf("Amend without a replica: %v", err)
	}

	tp.Replicas[0].Start(t)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := e.Transition(ctx, "prod-2026-11-24-1", release.Cancelled, store.TransitionOpts{By: "U1"})
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrNotDurable) || time.Now().After(deadline) {
			t.Fatalf("cancel once the replica is back: %v", err)
		}
	}
}

// TestDurableScriptsReloadOnANewServer: a server that never saw the scripts
// (a new master after a failover, or a SCRIPT FLUSH) runs them whole once.
func TestDurableScriptsReloadOnANewServer(t *testing.T) {
	t.Parallel()
	e, _ := newSentinel(t)
	ctx := context.Background()
	mustCreate(t, e, proposal("prod", 1, 2))
	approve(t, e, "prod-2026-11-24-1", "U1", digest)
	if err := e.rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if res := approve(t, e, "prod-2026-11-24-1", "U2", digest); res.Outcome != store.Approved {
		t.Fatalf("after SCRIPT FLUSH: %s", res.Outcome)
	}
}

// TestConnectedReplicas: the default Durability is read from INFO
// replication: 1 replica behind Sentinel, none on a single server or
// miniredis (which does not answer INFO replication as Redis does).
func TestConnectedReplicas(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, _ := newSentinel(t)
	if n, err := store.ConnectedReplicas(ctx, e.rdb); err != nil || n != 1 {
		t.Errorf("behind Sentinel: %d, %v; want 1", n, err)
	}
	if n, err := store.ConnectedReplicas(ctx, newReal(t).rdb); err != nil || n != 0 {
		t.Errorf("single server: %d, %v; want 0", n, err)
	}
	if n, _ := store.ConnectedReplicas(ctx, newMini(t).rdb); n != 0 {
		t.Errorf("miniredis: %d; want 0", n)
	}
}

// TestNoDurabilityOnMiniredis: without a Durability the store sends no
// WAIT, which miniredis does not know.
func TestNoDurabilityOnMiniredis(t *testing.T) {
	t.Parallel()
	e := newMini(t)
	mustCreate(t, e, proposal("prod", 1, 1))
	if res := approve(t, e, "prod-2026-11-24-1", "U1", digest); res.Outcome != store.Approved {
		t.Fatalf("outcome %s", res.Outcome)
	}
}
