package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/store"
	"github.com/release-bot/release-bot/internal/store/redistest"
)

// t0 is when every test begins, by the injected clock.
var t0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

const digest = "sha256:5d41402abc4b2a76b9719d911017c592"

// clock is the injected clock. On miniredis, Advance moves key TTLs by the
// same amount (FastForward), so expiry by the clock and by Redis agree.
type clock struct {
	mu sync.Mutex
	t  time.Time
	mr *miniredis.Miniredis
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
	if c.mr != nil {
		c.mr.FastForward(d)
	}
}

// env is one store over one Redis, with the raw client for looking at keys.
type env struct {
	*store.Store
	rdb    *redis.Client
	mr     *miniredis.Miniredis // nil on a real redis-server
	clock  *clock
	prefix string
	opts   store.Options
}

// reopen is a second Store on the same Redis, as another replica or the bot
// after a restart would have.
func (e *env) reopen() *store.Store { return store.New(e.rdb, e.opts) }

func newMini(t *testing.T) *env {
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr(), PoolSize: 64})
	t.Cleanup(func() { rdb.Close() })
	c := &clock{t: t0, mr: mr}
	opts := store.Options{Now: c.Now}
	return &env{Store: store.New(rdb, opts), rdb: rdb, mr: mr, clock: c, prefix: store.DefaultPrefix, opts: opts}
}

func newReal(t *testing.T) *env {
	rdb := redistest.Start(t)
	c := &clock{t: t0}
	prefix := redistest.Prefix(t)
	opts := store.Options{Now: c.Now, Prefix: prefix}
	return &env{Store: store.New(rdb, opts), rdb: rdb, clock: c, prefix: prefix, opts: opts}
}

// both runs f against miniredis (the unit test) and a real redis-server (the
// integration test): the same Lua must behave the same on both.
func both(t *testing.T, f func(t *testing.T, e *env)) {
	t.Run("miniredis", func(t *testing.T) { f(t, newMini(t)) })
	t.Run("redis-server", func(t *testing.T) { f(t, newReal(t)) })
}

// proposal is a release as the bot would propose it.
func proposal(pipeline string, n, required int) *release.Release {
	return &release.Release{
		ID:             fmt.Sprintf("%s-2026-11-24-%d", pipeline, n),
		Pipeline:       pipeline,
		ManifestDigest: digest,
		Proposer:       "UPROPOSER",
		ExpiresAt:      t0.Add(24 * time.Hour),
		Required:       required,
		Channel:        "C0123456789",
		MessageTS:      "1764000000.000100",
		Gate:           &release.Gate{Mode: release.GateEnforce, Passed: true},
		Evidence:       &release.Evidence{Flow: "production-promotion", Trail: fmt.Sprintf("%s-2026-11-24-%d", pipeline, n)},
	}
}

func mustCreate(t *testing.T, e *env, r *release.Release) *release.Release {
	t.Helper()
	if err := e.Create(context.Background(), r, []byte(`{"schemaVersion":1}`), nil); err != nil {
		t.Fatalf("Create(%s): %v", r.ID, err)
	}
	return r
}

func mustGet(t *testing.T, e *env, id string) *release.Release {
	t.Helper()
	r, err := e.Get(context.Background(), id)
	if err != nil {
		t.Fatalf("Get(%s): %v", id, err)
	}
	return r
}

func approve(t *testing.T, e *env, id, user, dig string) store.ApproveResult {
	t.Helper()
	res, err := e.Approve(context.Background(), id, release.Approval{UserID: user, Digest: dig})
	if err != nil {
		t.Fatalf("Approve(%s, %s): %v", id, user, err)
	}
	return res
}

func states(h []release.Transition) []string {
	out := make([]string, len(h))
	for i, tr := range h {
		out[i] = string(tr.From) + "→" + string(tr.To)
	}
	return out
}

// ttl is the key's TTL, or -1 for none and -2 for a missing key, as Redis says.
func ttl(t *testing.T, e *env, key string) time.Duration {
	t.Helper()
	d, err := e.rdb.PTTL(context.Background(), key).Result()
	if err != nil {
		t.Fatal(err)
	}
	return d
}
