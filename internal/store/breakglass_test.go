package store_test

import (
	"context"
	"testing"

	"github.com/release-bot/release-bot/internal/release"
)

// Only a break-glass release may be created needing no approval.
func TestCreateNeedsApprovalsUnlessBreakGlass(t *testing.T) {
	t.Parallel()
	e := newMini(t)
	plain := proposal("prod", 1, 0)
	if err := e.Create(context.Background(), plain, []byte(`{}`), nil); err == nil {
		t.Error("a release needing no approval was created")
	}
	negative := proposal("prod", 2, -1)
	negative.BreakGlass = &release.BreakGlass{Reason: "outage", By: "U0ALICE0001"}
	if err := e.Create(context.Background(), negative, []byte(`{}`), nil); err == nil {
		t.Error("a release needing -1 approvals was created")
	}
	bg := proposal("prod", 3, 0)
	bg.BreakGlass = &release.BreakGlass{Reason: "outage", By: "U0ALICE0001"}
	mustCreate(t, e, bg)
	if got := mustGet(t, e, bg.ID); got.BreakGlass == nil || got.BreakGlass.Reason != "outage" || got.Required != 0 {
		t.Errorf("stored %+v", got)
	}
}
