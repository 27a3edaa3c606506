package release_test

import (
	"testing"
	"time"

	"github.com/release-bot/release-bot/internal/release"
)

func TestBreakGlassReview(t *testing.T) {
	t.Parallel()
	t0 := utc(2026, 12, 10, 10, 0)
	due := t0.Add(24 * time.Hour)
	shipped := []release.Transition{{From: release.Proposed, To: release.Approved, At: t0}, {From: release.Approved, To: release.Dispatching, At: t0}}
	for _, tc := range []struct {
		name     string
		r        release.Release
		needs    bool
		overdue  bool // at due + 1s
		beforeOK bool // not overdue at due
	}{
		{name: "not break-glass", r: release.Release{State: release.Succeeded, History: shipped}},
		{name: "proposed, not shipped yet", r: release.Release{State: release.Proposed, BreakGlass: &release.BreakGlass{ReviewDue: due}}},
		{name: "cancelled before it shipped", r: release.Release{State: release.Cancelled, BreakGlass: &release.BreakGlass{ReviewDue: due},
			History: []release.Transition{{From: release.Proposed, To: release.Cancelled, At: t0}}}},
		{name: "shipped, unreviewed", r: release.Release{State: release.Succeeded, History: shipped, BreakGlass: &release.BreakGlass{ReviewDue: due}},
			needs: true, overdue: true},
		{name: "deploying", r: release.Release{State: release.Deploying, BreakGlass: &release.BreakGlass{ReviewDue: due}}, needs: true, overdue: true},
		{name: "reviewed", r: release.Release{State: release.Succeeded, History: shipped,
			BreakGlass: &release.BreakGlass{ReviewDue: due, Review: &release.Review{UserID: "U1", OK: true}}}},
		{name: "flagged", r: release.Release{State: release.Failed, History: shipped,
			BreakGlass: &release.BreakGlass{ReviewDue: due, Review: &release.Review{UserID: "U1", Reason: "no incident"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.r.NeedsReview(); got != tc.needs {
				t.Errorf("NeedsReview = %v", got)
			}
			if got := tc.r.ReviewOverdue(due.Add(time.Second)); got != tc.overdue {
				t.Errorf("overdue after the due time = %v", got)
			}
			if tc.r.ReviewOverdue(due) {
				t.Error("overdue at the due time itself")
			}
		})
	}
}
