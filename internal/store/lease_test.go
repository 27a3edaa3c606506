package store_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/release-bot/release-bot/internal/store"
)

func TestLeases(t *testing.T) {
	both(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		const name, hold = "follow:prod-2026-11-24-1", 30 * time.Second
		a, b := e.Store, e.reopen()
		var won atomic.Int32
		var wg sync.WaitGroup
		for _, s := range []struct {
			st    *store.Store
			owner string
		}{{a, "replica-a"}, {b, "replica-b"}} {
			wg.Go(func() {
				ok, err := s.st.AcquireLease(ctx, name, s.owner, hold)
				if err != nil {
					t.Error(err)
				}
				if ok {
					won.Add(1)
				}
			})
		}
		wg.Wait()
		if won.Load() != 1 {
			t.Fatalf("%d owners hold the lease", won.Load())
		}
		holder, _ := e.rdb.Get(ctx, e.prefix+"lease:"+name).Result()
		other := "replica-a"
		if holder == "replica-a" {
			other = "replica-b"
		}
		check := func(what string, got bool, err error, want bool) {
			t.Helper()
			if err != nil || got != want {
				t.Errorf("%s = %v, %v; want %v", what, got, err, want)
			}
		}
		ok, err := e.RenewLease(ctx, name, other, hold)
		check("renew by the wrong owner", ok, err, false)
		ok, err = e.ReleaseLease(ctx, name, other)
		check("release by the wrong owner", ok, err, false)
		if got, _ := e.rdb.Get(ctx, e.prefix+"lease:"+name).Result(); got != holder {
			t.Fatalf("the wrong owner changed the lease: %q", got)
		}
		ok, err = e.AcquireLease(ctx, name, holder, time.Minute)
		check("re-acquire by the holder", ok, err, true)
		ok, err = e.RenewLease(ctx, name, holder, 2*time.Minute)
		check("renew by the holder", ok, err, true)
		if d := ttl(t, e, e.prefix+"lease:"+name); d <= time.Minute || d > 2*time.Minute {
			t.Errorf("renewed TTL %v", d)
		}
		ok, err = e.ReleaseLease(ctx, name, holder)
		check("release by the holder", ok, err, true)
		ok, err = e.AcquireLease(ctx, name, other, hold)
		check("acquire after release", ok, err, true)
		ok, err = e.ReleaseLease(ctx, name, holder)
		check("release by the former holder", ok, err, false)
	})
}

// A replica that dies stops renewing; its lease lapses and another takes it.
func TestLeaseLapses(t *testing.T) {
	e := newMini(t)
	ctx := context.Background()
	if ok, _ := e.AcquireLease(ctx, "drift:prod", "replica-a", time.Minute); !ok {
		t.Fatal("acquire")
	}
	e.clock.Advance(59 * time.Second)
	if ok, _ := e.AcquireLease(ctx, "drift:prod", "replica-b", time.Minute); ok {
		t.Fatal("taken before it lapsed")
	}
	e.clock.Advance(time.Second)
	if ok, _ := e.RenewLease(ctx, "drift:prod", "replica-a", time.Minute); ok {
		t.Error("renewed a lapsed lease")
	}
	if ok, _ := e.AcquireLease(ctx, "drift:prod", "replica-b", time.Minute); !ok {
		t.Error("could not take a lapsed lease")
	}
}

func TestLeaseArguments(t *testing.T) {
	e := newMini(t)
	ctx := context.Background()
	if _, err := e.AcquireLease(ctx, "x", "", time.Second); err == nil {
		t.Error("acquire without an owner")
	}
	if _, err := e.AcquireLease(ctx, "x", "a", 0); err == nil {
		t.Error("acquire with no ttl")
	}
	if _, err := e.Once(ctx, "x", 0); err == nil {
		t.Error("once with no ttl")
	}
}

func TestOnce(t *testing.T) {
	both(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		const n = 10
		var firsts atomic.Int32
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				first, err := e.reopen().Once(ctx, "envelope:abc", time.Hour)
				if err != nil {
					t.Error(err)
				}
				if first {
					firsts.Add(1)
				}
			})
		}
		wg.Wait()
		if firsts.Load() != 1 {
			t.Errorf("%d of %d deliveries were first", firsts.Load(), n)
		}
		if first, _ := e.Once(ctx, "envelope:def", time.Hour); !first {
			t.Error("another key was not first")
		}
		if e.mr != nil {
			e.clock.Advance(time.Hour)
			if first, _ := e.Once(ctx, "envelope:abc", time.Hour); !first {
				t.Error("not first again after the ttl")
			}
		}
	})
}

func TestEmbedded(t *testing.T) {
	url, stop, err := store.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	opts.MaxRetries = -1 // the last Ping is meant to fail, at once
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	e := &env{Store: store.New(rdb, store.Options{}), rdb: rdb, clock: &clock{t: t0}}
	if err := e.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := proposal("prod", 1, 1)
	r.ExpiresAt = time.Time{}
	mustCreate(t, e, r)
	if res := approve(t, e, r.ID, "UALICE", digest); res.Outcome != store.Approved {
		t.Errorf("approve on the embedded Redis: %+v", res)
	}
	stop()
	stop() // idempotent
	if err := e.Ping(context.Background()); err == nil {
		t.Error("Ping after stop succeeded")
	}
}

// A reply's claim is short: one owner at a time, asked again by its owner
// after a lost answer, renewed while posting, and marked posted for good.
func TestReplyClaimIsOneOwnerAtATimeUntilPosted(t *testing.T) {
	both(t, func(t *testing.T, e *env) {
		ctx, s := context.Background(), e.Store
		check := func(what string, got store.ReplyClaim, err error, want store.ReplyClaim) {
			t.Helper()
			if err != nil || got != want {
				t.Fatalf("%s = %v, %v; want %v", what, got, err, want)
			}
		}
		c, err := s.ClaimReply(ctx, "leg:r1:web", "a", time.Minute)
		check("first claim", c, err, store.ReplyFirst)
		c, err = s.ClaimReply(ctx, "leg:r1:web", "a", time.Minute)
		check("the owner asking again", c, err, store.ReplyFirst)
		c, err = e.reopen().ClaimReply(ctx, "leg:r1:web", "b", time.Minute)
		check("another owner's claim", c, err, store.ReplyHeld)
		if ok, err := s.RenewReply(ctx, "leg:r1:web", "b", time.Minute); err != nil || ok {
			t.Fatalf("another owner renewed the claim: %v %v", ok, err)
		}
		if ok, err := s.RenewReply(ctx, "leg:r1:web", "a", 2*time.Minute); err != nil || !ok {
			t.Fatalf("the owner could not renew: %v %v", ok, err)
		}
		if d := ttl(t, e, e.prefix+"reply:claim:{leg:r1:web}"); d <= time.Minute {
			t.Errorf("renewed claim lives %v", d)
		}
		if err := s.MarkReplyPosted(ctx, "leg:r1:web", "a"); err != nil {
			t.Fatal(err)
		}
		for _, owner := range []string{"a", "b"} {
			c, err = s.ClaimReply(ctx, "leg:r1:web", owner, time.Minute)
			check("a claim after the posted mark by "+owner, c, err, store.ReplyPosted)
		}
		if d := ttl(t, e, e.prefix+"reply:{leg:r1:web}"); d < 29*24*time.Hour {
			t.Errorf("the posted mark lives %v", d)
		}
		// A claim taken the old way (Once's key, 30 days) counts as posted.
		if first, _ := s.Once(ctx, "leg:r1:api", time.Hour); !first {
			t.Fatal("once")
		}
		c, err = s.ClaimReply(ctx, "leg:r1:api", "a", time.Minute)
		check("a reply claimed before claims lapsed", c, err, store.ReplyPosted)
		if _, err := s.ClaimReply(ctx, "k", "", time.Minute); err == nil {
			t.Fatal("claim without an owner")
		}
	})
}

// A claim whose holder died lapses: another owner takes it and is told the
// reply may be out already; its own retry hears the same.
func TestReplyClaimLapses(t *testing.T) {
	e := newMini(t)
	ctx := context.Background()
	if c, _ := e.ClaimReply(ctx, "leg:r1:web", "a", time.Minute); c != store.ReplyFirst {
		t.Fatalf("first claim: %v", c)
	}
	e.clock.Advance(59 * time.Second)
	if c, _ := e.ClaimReply(ctx, "leg:r1:web", "b", time.Minute); c != store.ReplyHeld {
		t.Fatalf("taken before it lapsed: %v", c)
	}
	e.clock.Advance(time.Second)
	if ok, _ := e.RenewReply(ctx, "leg:r1:web", "a", time.Minute); ok {
		t.Error("renewed a lapsed claim")
	}
	for range 2 {
		if c, err := e.ClaimReply(ctx, "leg:r1:web", "b", time.Minute); c != store.ReplyLapsed || err != nil {
			t.Fatalf("claim after the lapse: %v %v; want ReplyLapsed", c, err)
		}
	}
	// The dead owner's late mark still counts: the reply went out.
	if err := e.MarkReplyPosted(ctx, "leg:r1:web", "a"); err != nil {
		t.Fatal(err)
	}
	if c, _ := e.ClaimReply(ctx, "leg:r1:web", "b", time.Minute); c != store.ReplyPosted {
		t.Errorf("after the mark: %v", c)
	}
}

// An attempt record moves on by compare-and-set: of two replicas that read
// the same attempt, one only begins the next.
func TestAttemptsMoveOnOnce(t *testing.T) {
	both(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a, err := e.LastAttempt(ctx, "dispatch:r1")
		if err != nil || a.N != 0 {
			t.Fatalf("no record: %+v %v", a, err)
		}
		first := store.Attempt{N: 1, At: t0, Retryable: true}
		if ok, err := e.SetAttempt(ctx, "dispatch:r1", 0, first, time.Hour); err != nil || !ok {
			t.Fatalf("first: %v %v", ok, err)
		}
		if a, _ := e.LastAttempt(ctx, "dispatch:r1"); a != first {
			t.Fatalf("read back %+v, want %+v", a, first)
		}
		var won atomic.Int32
		var wg sync.WaitGroup
		for range 5 {
			wg.Go(func() {
				ok, err := e.reopen().SetAttempt(ctx, "dispatch:r1", 1, store.Attempt{N: 2, At: t0.Add(time.Minute)}, time.Hour)
				if err != nil {
					t.Error(err)
				}
				if ok {
					won.Add(1)
				}
			})
		}
		wg.Wait()
		if won.Load() != 1 {
			t.Fatalf("%d replicas began attempt 2", won.Load())
		}
		if a, _ := e.LastAttempt(ctx, "dispatch:r1"); a.N != 2 || a.Retryable || !a.At.Equal(t0.Add(time.Minute)) {
			t.Errorf("attempt 2 reads %+v", a)
		}
		if ok, _ := e.SetAttempt(ctx, "dispatch:r1", 2, store.Attempt{N: 2, At: t0.Add(time.Minute), Retryable: true}, time.Hour); !ok {
			t.Error("could not mark attempt 2 retryable")
		}
		if ok, _ := e.SetAttempt(ctx, "dispatch:r1", 1, store.Attempt{N: 2}, time.Hour); ok {
			t.Error("a stale compare-and-set wrote")
		}
	})
}
