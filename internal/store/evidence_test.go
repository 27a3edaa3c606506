package store_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/store"
)

// The outbox's items are in the body, written by the same script as the
// change that causes them; the script also makes the release due, so a
// worker finds it even if the process that wrote it dies at once.
func TestEvidenceIsDueWithTheChangeThatCausesIt(t *testing.T) {
	both(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		r := proposal("prod", 1, 1)
		r.AddEvidence(release.EvidenceItem{ID: "report", Kind: release.EvidenceReport, CreatedAt: t0})
		proms := map[string]json.RawMessage{"web": json.RawMessage(`{"service":"web"}`)}
		if err := e.Create(ctx, r, []byte(`{}`), proms); err != nil {
			t.Fatal(err)
		}
		due, err := e.DueEvidence(ctx, e.clock.Now(), 10)
		if err != nil || !slices.Equal(due, []string{r.ID}) {
			t.Fatalf("due after create = %v, %v; want [%s]", due, err, r.ID)
		}
		got, err := e.EvidencePromotions(ctx, r.ID)
		if err != nil || string(got["web"]) != `{"service":"web"}` {
			t.Fatalf("promotions = %v, %v", got, err)
		}

		// Delivered: off the due set.
		cur := mustGet(t, e, r.ID)
		if err := e.EvidenceDelivered(ctx, r.ID, cur.Version); err != nil {
			t.Fatal(err)
		}
		if due, _ := e.DueEvidence(ctx, e.clock.Now(), 10); len(due) != 0 {
			t.Fatalf("due after delivery = %v", due)
		}

		// A rejection writes its decision with the move, and is due again.
		next, err := e.Transition(ctx, r.ID, release.Rejected, store.TransitionOpts{Update: func(x *release.Release) {
			x.AddEvidence(release.EvidenceItem{Kind: release.EvidenceDecision, Cause: release.Rejected, CreatedAt: t0})
		}})
		if err != nil {
			t.Fatal(err)
		}
		if len(next.Evidence.Items) != 2 || !next.Evidence.Pending() {
			t.Fatalf("items after reject = %+v", next.Evidence.Items)
		}
		if due, _ := e.DueEvidence(ctx, e.clock.Now(), 10); !slices.Equal(due, []string{r.ID}) {
			t.Fatalf("due after reject = %v", due)
		}
		// A deliverer that read the release before the rejection must not
		// take it off the due set: it has not seen the decision.
		if err := e.EvidenceDelivered(ctx, r.ID, cur.Version); err != nil {
			t.Fatal(err)
		}
		if due, _ := e.DueEvidence(ctx, e.clock.Now(), 10); !slices.Equal(due, []string{r.ID}) {
			t.Fatalf("a stale deliverer took the release off the due set: %v", due)
		}
		// Scheduled later: not due now, due then.
		if err := e.ScheduleEvidence(ctx, r.ID, e.clock.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if due, _ := e.DueEvidence(ctx, e.clock.Now(), 10); len(due) != 0 {
			t.Fatalf("due before its time: %v", due)
		}
		if due, _ := e.DueEvidence(ctx, e.clock.Now().Add(time.Minute), 10); len(due) != 1 {
			t.Fatalf("not due at its time: %v", due)
		}
		// The release ended: its evidence hash gets the retention clock too.
		if ttl := e.rdb.PTTL(ctx, e.prefix+"{"+r.Pipeline+"}:release:"+r.ID+":evidence").Val(); ttl <= 0 {
			t.Errorf("evidence hash of an ended release has TTL %v, want the retention", ttl)
		}
	})
}

// A step is marked done only by the holder of the outbox's lease: a
// deliverer that lost its lease learns it at its next mark and stops.
func TestOnlyTheLeaseHolderMarksAStep(t *testing.T) {
	both(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		r := mustCreate(t, e, proposal("prod", 1, 1))
		if ok, err := e.MarkEvidence(ctx, r.ID, "done:trail", "a"); err != nil || ok {
			t.Fatalf("mark without the lease = %v, %v; want false", ok, err)
		}
		if ok, _ := e.AcquireLease(ctx, store.EvidenceLease(r.ID), "a", time.Minute); !ok {
			t.Fatal("lease not acquired")
		}
		if ok, err := e.MarkEvidence(ctx, r.ID, "done:trail", "a"); err != nil || !ok {
			t.Fatalf("mark by the holder = %v, %v", ok, err)
		}
		if ok, _ := e.MarkEvidence(ctx, r.ID, "done:flow", "b"); ok {
			t.Fatal("another owner marked a step")
		}
		steps, err := e.EvidenceMarks(ctx, r.ID)
		if err != nil || len(steps) != 1 || !steps["done:trail"] {
			t.Fatalf("steps = %v, %v", steps, err)
		}
	})
}
