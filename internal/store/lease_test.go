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

func TestClaimIsOnceThatCanBeAskedAgain(t *testing.T) {
	both(t, func(t *testing.T, e *env) {
		ctx, s := context.Background(), e.Store
		{
			ok, err := s.Claim(ctx, "leg:r1:web", "a", time.Hour)
			if err != nil || !ok {
				t.Fatalf("first claim: %v %v", ok, err)
			}
			// The owner asking again (its first answer was lost) hears yes.
			if ok, err := s.Claim(ctx, "leg:r1:web", "a", time.Hour); err != nil || !ok {
				t.Fatalf("owner's second claim: %v %v", ok, err)
			}
			if ok, err := s.Claim(ctx, "leg:r1:web", "b", time.Hour); err != nil || ok {
				t.Fatalf("another owner's claim: %v %v", ok, err)
			}
			// Claim and Once share the key: what Once took, a Claim cannot take.
			if first, _ := s.Once(ctx, "leg:r1:api", time.Hour); !first {
				t.Fatal("once")
			}
			if ok, _ := s.Claim(ctx, "leg:r1:api", "a", time.Hour); ok {
				t.Fatal("claimed what Once had taken")
			}
			if _, err := s.Claim(ctx, "k", "", time.Hour); err == nil {
				t.Fatal("claim without an owner")
			}
		}
	})
}
