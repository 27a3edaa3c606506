package store_test

import (
	"context"
	"testing"
)

// TestMuteIsPerPipelineSharedAndIdempotent: a mute is seen by another
// replica, applies to its pipeline only, and muting or unmuting twice
// says the second changed nothing.
func TestMuteIsPerPipelineSharedAndIdempotent(t *testing.T) {
	t.Parallel()
	both(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		other := e.reopen()
		if changed, err := e.Mute(ctx, "prod", "U0ALICE0001"); err != nil || !changed {
			t.Fatalf("mute = %v, %v", changed, err)
		}
		if changed, err := other.Mute(ctx, "prod", "U0ALICE0001"); err != nil || changed {
			t.Errorf("mute again = %v, %v; want no change", changed, err)
		}
		muted, err := other.Muted(ctx, "prod")
		if err != nil || len(muted) != 1 || !muted["U0ALICE0001"] {
			t.Errorf("muted on the other replica = %v, %v", muted, err)
		}
		if m, _ := other.Muted(ctx, "staging"); len(m) != 0 {
			t.Errorf("staging muted = %v", m)
		}
		if changed, err := other.Unmute(ctx, "prod", "U0ALICE0001"); err != nil || !changed {
			t.Errorf("unmute = %v, %v", changed, err)
		}
		if changed, err := e.Unmute(ctx, "prod", "U0ALICE0001"); err != nil || changed {
			t.Errorf("unmute again = %v, %v; want no change", changed, err)
		}
		if m, _ := e.Muted(ctx, "prod"); len(m) != 0 {
			t.Errorf("after unmute = %v", m)
		}
	})
}
