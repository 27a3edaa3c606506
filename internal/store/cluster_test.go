package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/store"
	"github.com/release-bot/release-bot/internal/store/redistest"
)

// TestStoreOnRedisCluster runs every kind of store write on a real Redis
// Cluster of three masters with a replica each: a script or MULTI whose keys
// were in two slots would fail with CROSSSLOT, one sent to a node that does
// not own its slot with MOVED. Pipelines spread over more than one master.
// Decisions wait for the replica of their own slot's master: with that one
// replica gone, an approval there is ErrNotDurable while one on another
// master is not, so the WAIT went to the slot's master on the script's
// connection.
func TestStoreOnRedisCluster(t *testing.T) {
	t.Parallel()
	cl := redistest.StartCluster(t, redistest.ClusterOptions{})
	rdb := cl.Client(t)
	c := &clock{t: t0}
	s := store.New(rdb, store.Options{Now: c.Now, Durable: store.Durability{Replicas: 1, Timeout: 2 * time.Second}})
	ctx := context.Background()
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := store.ConnectedReplicas(ctx, rdb); err != nil || n != 1 {
		t.Fatalf("ConnectedReplicas = %d, %v; want 1", n, err)
	}

	pipelines := []string{"prod", "stage", "dev", "qa"}
	masters := map[*redistest.Server][]string{}
	for _, p := range pipelines {
		m, err := cl.MasterOf(ctx, "{"+p+"}")
		if err != nil {
			t.Fatal(err)
		}
		masters[m] = append(masters[m], p)
	}
	if len(masters) < 2 {
		t.Fatalf("the pipelines all hash to one master: %v", masters)
	}
	var ids []string
	for _, p := range pipelines {
		id, err := s.NextID(ctx, p, t0)
		if err != nil {
			t.Fatal(err)
		}
		r := proposal(p, 1, 2)
		if r.ID != id {
			t.Fatalf("NextID = %s, want %s", id, r.ID)
		}
		if err := s.Create(ctx, r, []byte(`{"schemaVersion":1}`), nil); err != nil {
			t.Fatalf("Create(%s): %v", id, err)
		}
		for i, u := range []string{"U1", "U2"} {
			res, err := s.Approve(ctx, id, release.Approval{UserID: u, Digest: digest})
			if want := []store.Outcome{store.Counted, store.Approved}[i]; err != nil || res.Outcome != want {
				t.Fatalf("Approve(%s, %s) = %s, %v; want %s", id, u, res.Outcome, err, want)
			}
		}
		if _, err := s.Transition(ctx, id, release.Dispatching, store.TransitionOpts{From: []release.State{release.Approved}}); err != nil {
			t.Fatalf("dispatch claim of %s: %v", id, err)
		}
		if err := s.ScheduleEvidence(ctx, id, t0); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	for _, p := range pipelines {
		rs, err := s.List(ctx, p, 10)
		if err != nil || len(rs) != 1 || rs[0].State != release.Dispatching || len(rs[0].Approvals) != 2 {
			t.Fatalf("List(%s) = %v, %v", p, rs, err)
		}
	}
	due, err := s.DueEvidence(ctx, t0, 10)
	if slices.Sort(due); err != nil || !slices.Equal(due, slices.Sorted(slices.Values(ids))) {
		t.Fatalf("DueEvidence = %v, %v; want %v", due, err, ids)
	}
	id := ids[0]
	if ok, err := s.AcquireLease(ctx, store.EvidenceLease(id), "w1", time.Minute); err != nil || !ok {
		t.Fatalf("evidence lease: %v %v", ok, err)
	}
	if ok, err := s.MarkEvidence(ctx, id, "done:report", "w1"); err != nil || !ok {
		t.Fatalf("MarkEvidence: %v %v", ok, err)
	}
	if err := s.EvidenceDelivered(ctx, id, 1<<40); err != nil {
		t.Fatal(err)
	}
	if n, err := s.PendingEvidence(ctx); err != nil || n != int64(len(ids)-1) {
		t.Fatalf("PendingEvidence = %d, %v; want %d", n, err, len(ids)-1)
	}
	if c, err := s.ClaimReply(ctx, "leg:"+id+":web", "w1", time.Minute); err != nil || c != store.ReplyFirst {
		t.Fatalf("ClaimReply: %v %v", c, err)
	}
	if err := s.MarkReplyPosted(ctx, "leg:"+id+":web", "w1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Transition(ctx, id, release.Deploying, store.TransitionOpts{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Transition(ctx, id, release.Succeeded, store.TransitionOpts{}); err != nil {
		t.Fatal(err)
	}
	if r, err := s.Active(ctx, store.PipelineOf(id)); err != nil || r != nil {
		t.Fatalf("a finished release still holds its pipeline: %v %v", r, err)
	}

	// The replica of one master goes: decisions in its slots cannot be made
	// durable, those on the other masters still are.
	var lost *redistest.Server
	var orphaned []string
	for m, ps := range masters {
		lost, orphaned = m, ps
		break
	}
	replica, err := cl.ReplicaOf(ctx, lost)
	if err != nil {
		t.Fatal(err)
	}
	replica.Kill(t)
	for _, p := range pipelines {
		r := proposal(p, 2, 1)
		if p != store.PipelineOf(id) { // that one succeeded: its pipeline is free
			_, err := s.Transition(ctx, p+"-2026-11-24-1", release.Cancelled, store.TransitionOpts{})
			if err != nil && !errors.Is(err, store.ErrNotDurable) {
				t.Fatal(err)
			}
		}
		if err := s.Create(ctx, r, nil, nil); err != nil {
			t.Fatalf("Create(%s): %v", r.ID, err)
		}
		_, err := s.Approve(ctx, r.ID, release.Approval{UserID: "U1", Digest: digest})
		if want := slices.Contains(orphaned, p); errors.Is(err, store.ErrNotDurable) != want {
			t.Errorf("approval on %s (its master lost its replica: %v): %v", p, want, err)
		}
	}
}
