package store_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/store"
	"github.com/release-bot/release-bot/internal/store/redistest"
)

func TestApproveTwentyConcurrentClicks(t *testing.T) {
	both(t, func(t *testing.T, e *env) {
		r := mustCreate(t, e, proposal("prod", 1, 2))
		const n = 20
		results := make([]store.ApproveResult, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				res, err := e.Approve(context.Background(), r.ID, release.Approval{UserID: fmt.Sprintf("U%02d", i), Digest: digest})
				if err != nil {
					t.Error(err)
				}
				results[i] = res
			})
		}
		close(start)
		wg.Wait()
		outcomes := map[store.Outcome]int{}
		for _, res := range results {
			outcomes[res.Outcome]++
			if res.Outcome == store.Approved && (res.State != release.Approved || res.Count != 2 || res.Required != 2 || res.Version != 3) {
				t.Errorf("the approving click saw %+v", res)
			}
		}
		if want := map[store.Outcome]int{store.Approved: 1, store.Counted: 1, store.WrongState: n - 2}; !maps.Equal(outcomes, want) {
			t.Errorf("outcomes %v, want %v", outcomes, want)
		}
		got := mustGet(t, e, r.ID)
		if got.State != release.Approved || len(got.Approvals) != 2 || got.Version != 3 {
			t.Errorf("release is %s v%d with approvals %v", got.State, got.Version, got.Approvers())
		}
		if want := []string{"→proposed", "proposed→approved"}; !slices.Equal(states(got.History), want) {
			t.Errorf("history %v, want %v", states(got.History), want)
		}
		if h := got.History[1]; h.By != got.Approvals[1].UserID && h.By != got.Approvals[0].UserID {
			t.Errorf("approval entry by %q, not one of the approvers %v", h.By, got.Approvers())
		}
	})
}

func TestApproveSamePersonTwice(t *testing.T) {
	both(t, func(t *testing.T, e *env) {
		r := mustCreate(t, e, proposal("prod", 1, 2))
		if res := approve(t, e, r.ID, "UALICE", digest); res.Outcome != store.Counted || res.Count != 1 || res.Version != 2 {
			t.Errorf("first click: %+v", res)
		}
		e.clock.Advance(time.Second)
		if res := approve(t, e, r.ID, "UALICE", digest); res.Outcome != store.Duplicate || res.Count != 1 || res.Version != 2 || res.State != release.Proposed {
			t.Errorf("second click: %+v", res)
		}
		got := mustGet(t, e, r.ID)
		want := []release.Approval{{UserID: "UALICE", At: t0, Digest: digest}}
		if !slices.Equal(got.Approvals, want) || got.Remaining() != 1 {
			t.Errorf("approvals %+v, want %+v (the first click's time)", got.Approvals, want)
		}
	})
}

func TestApproveWrongDigest(t *testing.T) {
	both(t, func(t *testing.T, e *env) {
		r := mustCreate(t, e, proposal("prod", 1, 1))
		res := approve(t, e, r.ID, "UALICE", "sha256:0000")
		if res.Outcome != store.WrongDigest || res.State != release.Proposed || res.Count != 0 || res.Version != 1 {
			t.Errorf("stale button: %+v", res)
		}
		if got := mustGet(t, e, r.ID); len(got.Approvals) != 0 || got.Version != 1 {
			t.Errorf("a stale button changed the release: %+v", got)
		}
	})
}

func TestApproveAfterReject(t *testing.T) {
	both(t, func(t *testing.T, e *env) {
		r := mustCreate(t, e, proposal("prod", 1, 2))
		rej, err := e.Reject(context.Background(), r.ID, release.Decision{UserID: "UBOB", Reason: "tests are red"})
		if err != nil {
			t.Fatal(err)
		}
		if rej.State != release.Rejected || rej.Rejection == nil || rej.Rejection.Reason != "tests are red" || !rej.Rejection.At.Equal(t0) {
			t.Errorf("Reject returned %+v", rej)
		}
		res := approve(t, e, r.ID, "UALICE", digest)
		if res.Outcome != store.WrongState || res.State != release.Rejected {
			t.Errorf("approve after reject: %+v", res)
		}
		got := mustGet(t, e, r.ID)
		if got.Rejection == nil || got.Rejection.UserID != "UBOB" || len(got.Approvals) != 0 {
			t.Errorf("release after reject: %+v", got)
		}
		if want := []string{"→proposed", "proposed→rejected"}; !slices.Equal(states(got.History), want) || got.History[1].Note != "tests are red" {
			t.Errorf("history %+v", got.History)
		}
		if _, err := e.Reject(context.Background(), r.ID, release.Decision{UserID: "UBOB"}); err == nil {
			t.Error("a second Reject succeeded")
		}
	})
}

func TestApproveExpired(t *testing.T) {
	both(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		r := mustCreate(t, e, proposal("prod", 1, 2))
		approve(t, e, r.ID, "UALICE", digest)
		e.clock.Advance(24*time.Hour - time.Millisecond)
		if res := approve(t, e, r.ID, "UBOB", "sha256:0000"); res.Outcome != store.WrongDigest {
			t.Errorf("just before expiry: %+v", res)
		}
		e.clock.Advance(time.Millisecond)
		res := approve(t, e, r.ID, "UBOB", digest)
		if res.Outcome != store.Expired || res.State != release.Expired || res.Count != 1 || res.Version != 3 {
			t.Errorf("at expiry: %+v", res)
		}
		got := mustGet(t, e, r.ID)
		if got.State != release.Expired || got.HasApproved("UBOB") {
			t.Errorf("release %s with approvers %v", got.State, got.Approvers())
		}
		if last := got.History[len(got.History)-1]; last.From != release.Proposed || last.To != release.Expired || !last.At.Equal(t0.Add(24*time.Hour)) {
			t.Errorf("last history entry %+v", last)
		}
		if a, _ := e.Active(ctx, "prod"); a != nil {
			t.Errorf("the expired release still holds the pipeline: %s", a.ID)
		}
		if res := approve(t, e, r.ID, "UCAROL", digest); res.Outcome != store.WrongState || res.State != release.Expired {
			t.Errorf("after expiry: %+v", res)
		}
		mustCreate(t, e, proposal("prod", 2, 2))
	})
}

func TestApproveNotFound(t *testing.T) {
	both(t, func(t *testing.T, e *env) {
		if res := approve(t, e, "prod-2026-11-24-7", "UALICE", digest); res.Outcome != store.NotFound {
			t.Errorf("%+v", res)
		}
		if _, err := e.Approve(context.Background(), "x", release.Approval{}); err == nil {
			t.Error("an approval without a user was accepted")
		}
	})
}

// A bot restarted between two approvals (a new Store, and on a real server a
// restarted redis-server) keeps the first one.
func TestApprovalsSurviveRestart(t *testing.T) {
	both(t, func(t *testing.T, e *env) {
		r := mustCreate(t, e, proposal("prod", 1, 2))
		approve(t, e, r.ID, "UALICE", digest)
		e.Store = e.reopen()
		if res := approve(t, e, r.ID, "UBOB", digest); res.Outcome != store.Approved || res.Count != 2 {
			t.Errorf("after restart: %+v", res)
		}
		if got := mustGet(t, e, r.ID); !slices.Equal(got.Approvers(), []string{"UALICE", "UBOB"}) {
			t.Errorf("approvers %v", got.Approvers())
		}
	})
	t.Run("redis-server restarted", func(t *testing.T) {
		srv := redistest.StartServer(t)
		c := &clock{t: t0}
		opts := store.Options{Now: c.Now}
		e := &env{Store: store.New(srv.Client(t), opts), clock: c}
		r := mustCreate(t, e, proposal("prod", 1, 2))
		approve(t, e, r.ID, "UALICE", digest)
		srv.Restart(t)
		e.Store = store.New(srv.Client(t), opts)
		c.Advance(time.Minute)
		if res := approve(t, e, r.ID, "UBOB", digest); res.Outcome != store.Approved {
			t.Errorf("after restart: %+v", res)
		}
		got := mustGet(t, e, r.ID)
		if !slices.Equal(got.Approvers(), []string{"UALICE", "UBOB"}) || got.State != release.Approved {
			t.Errorf("%s with approvers %v", got.State, got.Approvers())
		}
	})
}

// countHook counts what the client sends: one per command, one per pipeline.
type countHook struct {
	trips atomic.Int64
	names sync.Map
}

func (h *countHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.trips.Add(1)
		h.names.Store(cmd.Name(), true)
		return next(ctx, cmd)
	}
}
func (h *countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.trips.Add(1)
		return next(ctx, cmds)
	}
}

func TestApproveIsOneRoundTrip(t *testing.T) {
	both(t, func(t *testing.T, e *env) {
		r := mustCreate(t, e, proposal("prod", 1, 3))
		approve(t, e, r.ID, "UALICE", digest) // loads the script into Redis's cache
		h := &countHook{}
		e.rdb.AddHook(h)
		for _, u := range []string{"UBOB", "UBOB", "UCAROL", "UDAN"} {
			before := h.trips.Load()
			approve(t, e, r.ID, u, digest)
			if n := h.trips.Load() - before; n != 1 {
				t.Errorf("approval by %s took %d round trips", u, n)
			}
		}
		if _, ok := h.names.Load("evalsha"); !ok {
			t.Error("approvals did not use EVALSHA")
		}
	})
}
