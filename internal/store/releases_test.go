package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/store"
)

func TestCreateGetRoundTrip(t *testing.T) {
	both(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		r := proposal("prod", 1, 2)
		r.Details = json.RawMessage(`{"plan":{"promotions":3}}`)
		mustCreate(t, e, r)
		if r.State != release.Proposed || r.Version != 1 || !r.CreatedAt.Equal(t0) {
			t.Errorf("Create left state %s, version %d, created %v", r.State, r.Version, r.CreatedAt)
		}
		got := mustGet(t, e, r.ID)
		if !reflect.DeepEqual(got, r) {
			t.Errorf("Get:\n got %+v\nwant %+v", got, r)
		}
		m, err := e.Manifest(ctx, r.ID)
		if err != nil || string(m) != `{"schemaVersion":1}` {
			t.Errorf("Manifest = %q, %v", m, err)
		}
		active, err := e.Active(ctx, "prod")
		if err != nil || active == nil || active.ID != r.ID {
			t.Errorf("Active = %+v, %v", active, err)
		}
		if a, err := e.Active(ctx, "beta"); a != nil || err != nil {
			t.Errorf("Active of a pipeline without releases = %+v, %v", a, err)
		}
		if _, err := e.Get(ctx, "prod-2026-11-24-9"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Get of a missing release: %v", err)
		}
		if _, err := e.Manifest(ctx, "prod-2026-11-24-9"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Manifest of a missing release: %v", err)
		}
	})
}

func TestKeyLayout(t *testing.T) {
	e := newMini(t)
	r := mustCreate(t, e, proposal("prod", 1, 2))
	approve(t, e, r.ID, "UALICE", digest)
	// Every key of the pipeline and its releases carries the hash tag
	// {prod}: one Redis Cluster slot, so that each script stays on one node.
	want := []string{
		"rb:evidence:pipelines",
		"rb:{prod}:active",
		"rb:{prod}:release:prod-2026-11-24-1", "rb:{prod}:release:prod-2026-11-24-1:approvals",
		"rb:{prod}:release:prod-2026-11-24-1:history", "rb:{prod}:release:prod-2026-11-24-1:manifest",
		"rb:{prod}:releases",
	}
	if got := e.mr.Keys(); !reflect.DeepEqual(got, want) {
		t.Errorf("keys:\n got %q\nwant %q", got, want)
	}
	fields := map[string]string{"state": "proposed", "version": "2", "digest": digest, "pipeline": "prod",
		"required": "2", "expires_at_ms": strconv.FormatInt(t0.Add(24*time.Hour).UnixMilli(), 10)}
	for f, v := range fields {
		if got := e.mr.HGet("rb:{prod}:release:prod-2026-11-24-1", f); got != v {
			t.Errorf("field %s = %q, want %q", f, got, v)
		}
	}
	if got, _ := e.mr.Get("rb:{prod}:active"); got != r.ID {
		t.Errorf("lock = %q", got)
	}
}

func TestCreateOneActivePerPipeline(t *testing.T) {
	both(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		first := mustCreate(t, e, proposal("prod", 1, 2))
		err := e.Create(ctx, proposal("prod", 2, 2), nil, nil)
		var active *store.ActiveReleaseError
		if !errors.As(err, &active) || active.ID != first.ID || active.State != release.Proposed || active.Pipeline != "prod" {
			t.Fatalf("second Create: %v, want an ActiveReleaseError naming %s", err, first.ID)
		}
		if _, err := e.Get(ctx, "prod-2026-11-24-2"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a refused Create wrote the release: %v", err)
		}
		mustCreate(t, e, proposal("beta", 1, 1)) // another pipeline is not blocked
		if err := e.Create(ctx, proposal("prod", 1, 2), nil, nil); !errors.Is(err, store.ErrExists) {
			t.Errorf("Create with a taken id: %v", err)
		}
		// Once the open release ends, the pipeline takes a new one.
		if _, err := e.Transition(ctx, first.ID, release.Cancelled, store.TransitionOpts{By: "UPROPOSER"}); err != nil {
			t.Fatal(err)
		}
		mustCreate(t, e, proposal("prod", 2, 2))
	})
}

func TestCreateRacesOnePerPipeline(t *testing.T) {
	both(t, func(t *testing.T, e *env) {
		const n = 20
		errs := make(chan error, n)
		for i := range n {
			go func() { errs <- e.Create(context.Background(), proposal("prod", i+1, 2), nil, nil) }()
		}
		won := 0
		for range n {
			err := <-errs
			var active *store.ActiveReleaseError
			switch {
			case err == nil:
				won++
			case !errors.As(err, &active):
				t.Errorf("Create: %v", err)
			}
		}
		if won != 1 {
			t.Errorf("%d concurrent Creates on one pipeline won, want 1", won)
		}
	})
}

func TestCreateTakesOverAnExpiredRelease(t *testing.T) {
	both(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		old := mustCreate(t, e, proposal("prod", 1, 2))
		e.clock.Advance(24 * time.Hour)
		mustCreate(t, e, proposal("prod", 2, 2))
		got := mustGet(t, e, old.ID)
		if got.State != release.Expired || got.Version != 2 {
			t.Errorf("old release is %s v%d, want expired v2", got.State, got.Version)
		}
		last := got.History[len(got.History)-1]
		if last.From != release.Proposed || last.To != release.Expired || !last.At.Equal(t0.Add(24*time.Hour)) || last.Note == "" {
			t.Errorf("expiry history entry %+v", last)
		}
		if d := ttl(t, e, e.prefix+"{prod}:release:"+old.ID); d <= 0 {
			t.Errorf("expired release has TTL %v", d)
		}
		if a, _ := e.Active(ctx, "prod"); a == nil || a.ID != "prod-2026-11-24-2" {
			t.Errorf("Active = %+v", a)
		}
	})
}

func TestList(t *testing.T) {
	e := newMini(t)
	ctx := context.Background()
	for i := 1; i <= 3; i++ {
		r := mustCreate(t, e, proposal("prod", i, 1))
		if _, err := e.Transition(ctx, r.ID, release.Cancelled, store.TransitionOpts{}); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Hour)
	}
	mustCreate(t, e, proposal("beta", 1, 1))
	ids := func(rs []*release.Release) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	all, err := e.List(ctx, "prod", 10)
	if want := []string{"prod-2026-11-24-3", "prod-2026-11-24-2", "prod-2026-11-24-1"}; err != nil || !slices.Equal(ids(all), want) {
		t.Errorf("List = %v, %v; want %v", ids(all), err, want)
	}
	two, _ := e.List(ctx, "prod", 2)
	if want := []string{"prod-2026-11-24-3", "prod-2026-11-24-2"}; !slices.Equal(ids(two), want) {
		t.Errorf("List(2) = %v", ids(two))
	}
	// Past retention the first two are gone; List skips them and drops their index entries.
	e.clock.Advance(store.DefaultRetention - 2*time.Hour)
	left, err := e.List(ctx, "prod", 10)
	if want := []string{"prod-2026-11-24-3"}; err != nil || !slices.Equal(ids(left), want) {
		t.Errorf("List after retention = %v, %v; want %v", ids(left), err, want)
	}
	if n, _ := e.rdb.ZCard(ctx, "rb:{prod}:releases").Result(); n != 1 {
		t.Errorf("index holds %d entries after pruning, want 1", n)
	}
}

func TestNextID(t *testing.T) {
	both(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		for _, want := range []string{"prod-2026-11-24-1", "prod-2026-11-24-2"} {
			if got, err := e.NextID(ctx, "prod", t0); err != nil || got != want {
				t.Errorf("NextID = %q, %v; want %q", got, err, want)
			}
		}
		if got, _ := e.NextID(ctx, "prod", t0.AddDate(0, 0, 1)); got != "prod-2026-11-25-1" {
			t.Errorf("next day: %q", got)
		}
		if got, _ := e.NextID(ctx, "beta", t0); got != "beta-2026-11-24-1" {
			t.Errorf("other pipeline: %q", got)
		}
		if d := ttl(t, e, e.prefix+"{prod}:seq:2026-11-24"); d <= 24*time.Hour {
			t.Errorf("counter TTL %v: it must outlive the day", d)
		}
	})
}

func TestPing(t *testing.T) {
	both(t, func(t *testing.T, e *env) {
		if err := e.Ping(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr(), MaxRetries: -1})
	defer rdb.Close()
	mr.Close()
	if err := store.New(rdb, store.Options{}).Ping(context.Background()); err == nil {
		t.Error("Ping of a closed Redis succeeded")
	}
}
