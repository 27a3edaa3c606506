package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/release-bot/release-bot/internal/release"
)

func TestAdHocFreezeIsSharedReplacedAndLifted(t *testing.T) {
	t.Parallel()
	both(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		other := e.reopen() // another replica
		if w, err := other.AdHocFreeze(ctx, "prod"); err != nil || w != nil {
			t.Fatalf("before any freeze: %+v, %v", w, err)
		}
		first := release.FreezeWindow{Name: "ad hoc", Reason: "incident 42", By: "U0ALICE0001", At: t0, From: t0, Until: t0.Add(2 * time.Hour)}
		if old, err := e.SetFreeze(ctx, "prod", first); err != nil || old != nil {
			t.Fatalf("first freeze replaced %+v, %v", old, err)
		}
		got, err := other.AdHocFreeze(ctx, "prod")
		if err != nil || got == nil || got.Reason != "incident 42" || !got.Until.Equal(first.Until) || got.By != "U0ALICE0001" {
			t.Fatalf("the other replica sees %+v, %v", got, err)
		}
		if w, _ := other.AdHocFreeze(ctx, "staging"); w != nil {
			t.Errorf("another pipeline is frozen: %+v", w)
		}
		if d := ttl(t, e, e.prefix+"{prod}:freeze"); d <= 2*time.Hour || d > 26*time.Hour {
			t.Errorf("key ttl %s: want its end plus a day", d)
		}
		longer := first
		longer.Reason, longer.Until = "incident 42, still", t0.Add(4*time.Hour)
		old, err := other.SetFreeze(ctx, "prod", longer)
		if err != nil || old == nil || old.Reason != "incident 42" {
			t.Fatalf("second freeze replaced %+v, %v", old, err)
		}
		lifted, err := e.Unfreeze(ctx, "prod")
		if err != nil || lifted == nil || lifted.Reason != "incident 42, still" {
			t.Fatalf("unfreeze lifted %+v, %v", lifted, err)
		}
		if again, err := other.Unfreeze(ctx, "prod"); err != nil || again != nil {
			t.Fatalf("a second unfreeze lifted %+v, %v", again, err)
		}
		if w, _ := other.AdHocFreeze(ctx, "prod"); w != nil {
			t.Errorf("still frozen after unfreeze: %+v", w)
		}
	})
}

// A freeze whose end has passed by the clock holds no more, whatever its
// key's expiry: the clock decides.
func TestAdHocFreezeEndsByTheClock(t *testing.T) {
	t.Parallel()
	both(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		w := release.FreezeWindow{Name: "ad hoc", Reason: "deploy of the db", By: "U0ALICE0001", From: t0, Until: t0.Add(time.Hour)}
		if _, err := e.SetFreeze(ctx, "prod", w); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Hour)
		if got, err := e.AdHocFreeze(ctx, "prod"); err != nil || got != nil {
			t.Fatalf("an ended freeze holds: %+v, %v", got, err)
		}
		if got, err := e.Unfreeze(ctx, "prod"); err != nil || got != nil {
			t.Fatalf("unfreeze of an ended freeze: %+v, %v", got, err)
		}
		if old, err := e.SetFreeze(ctx, "prod", release.FreezeWindow{Name: "ad hoc", By: "U0BOB000001", Until: t0.Add(3 * time.Hour)}); err != nil || old != nil {
			t.Fatalf("a new freeze replaced an ended one: %+v, %v", old, err)
		}
	})
}
