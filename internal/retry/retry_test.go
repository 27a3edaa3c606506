package retry_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/release-bot/release-bot/internal/retry"
)

type recorder struct{ waits []time.Duration }

func (r *recorder) sleep(ctx context.Context, d time.Duration) error {
	r.waits = append(r.waits, d)
	return ctx.Err()
}

func policy(r *recorder) retry.Policy {
	p := retry.Default()
	p.Sleep = r.sleep
	p.Jitter = func(n int64) int64 { return n - 1 } // the top of each window
	return p
}

func TestDoRetriesUntilSuccess(t *testing.T) {
	r := &recorder{}
	calls := 0
	err := retry.Do(context.Background(), policy(r), func(error) retry.Decision { return retry.Again },
		func(context.Context) error {
			calls++
			if calls < 3 {
				return errors.New("flaky")
			}
			return nil
		})
	if err != nil || calls != 3 {
		t.Fatalf("err=%v calls=%d", err, calls)
	}
	want := []time.Duration{time.Second, 2 * time.Second}
	if len(r.waits) != 2 || r.waits[0] != want[0] || r.waits[1] != want[1] {
		t.Errorf("waits = %v, want %v", r.waits, want)
	}
}

func TestDoIsBounded(t *testing.T) {
	r := &recorder{}
	calls := 0
	boom := errors.New("boom")
	err := retry.Do(context.Background(), policy(r), func(error) retry.Decision { return retry.Again },
		func(context.Context) error { calls++; return boom })
	if !errors.Is(err, boom) || calls != 4 || len(r.waits) != 3 {
		t.Fatalf("err=%v calls=%d waits=%v", err, calls, r.waits)
	}
}

func TestDoStopsWhenTold(t *testing.T) {
	r := &recorder{}
	calls := 0
	err := retry.Do(context.Background(), policy(r), func(error) retry.Decision { return retry.Stop },
		func(context.Context) error { calls++; return errors.New("401") })
	if err == nil || calls != 1 || len(r.waits) != 0 {
		t.Fatalf("err=%v calls=%d waits=%v", err, calls, r.waits)
	}
}

func TestDoHonoursRetryAfterCappedAtMax(t *testing.T) {
	r := &recorder{}
	calls := 0
	after := []time.Duration{7 * time.Second, time.Hour}
	err := retry.Do(context.Background(), policy(r),
		func(error) retry.Decision { return retry.Decision{Retry: true, After: after[len(r.waits)]} },
		func(context.Context) error {
			calls++
			if calls < 3 {
				return errors.New("429")
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if r.waits[0] != 7*time.Second || r.waits[1] != 30*time.Second {
		t.Errorf("waits = %v", r.waits)
	}
}

func TestDoStopsOnCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	err := retry.Do(ctx, retry.Policy{Attempts: 5, Base: time.Hour, Max: time.Hour},
		func(error) retry.Decision { return retry.Again },
		func(context.Context) error { calls++; cancel(); return errors.New("x") })
	if err == nil || calls != 1 {
		t.Fatalf("err=%v calls=%d", err, calls)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	cases := map[string]time.Duration{
		"":                              0,
		"3":                             3 * time.Second,
		"abc":                           0,
		"Tue, 24 Nov 2026 10:00:05 GMT": 5 * time.Second,
		"Tue, 24 Nov 2026 09:00:05 GMT": 0,
		"99999999999999999999":          24 * time.Hour,
	}
	for in, want := range cases {
		if got := retry.ParseRetryAfter(in, now); got != want {
			t.Errorf("ParseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

// The backoff is equal jitter: each wait lies in [window/2, window] of its
// doubling window, never below half of it (full jitter would allow zero).
func TestBackoffIsEqualJitter(t *testing.T) {
	for name, c := range map[string]struct {
		jitter func(int64) int64
		want   []time.Duration
	}{
		"the bottom of each window": {func(int64) int64 { return 0 }, []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second}},
		"the top of each window":    {func(n int64) int64 { return n - 1 }, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}},
	} {
		t.Run(name, func(t *testing.T) {
			r := &recorder{}
			p := policy(r)
			var asked []int64
			p.Jitter = func(n int64) int64 { asked = append(asked, n); return c.jitter(n) }
			_ = retry.Do(context.Background(), p, func(error) retry.Decision { return retry.Again },
				func(context.Context) error { return errors.New("down") })
			if len(r.waits) != len(c.want) {
				t.Fatalf("waits = %v, want %v", r.waits, c.want)
			}
			for i := range c.want {
				if r.waits[i] != c.want[i] {
					t.Errorf("waits = %v, want %v", r.waits, c.want)
				}
				// The random part spans the window's other half, both ends
				// included: at the bottom, the wait is that half.
				if half := int64(c.want[i]); name == "the bottom of each window" && asked[i] != half+1 {
					t.Errorf("jitter asked for [0, %d), want [0, %d)", asked[i], half+1)
				}
			}
		})
	}
}
