package release_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/release-bot/release-bot/internal/release"
)

func TestCheckApprover(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	const digest = "sha256:1111"
	policy := release.Policy{
		Required:    2,
		Users:       map[string]bool{"UALICE": true, "UBOB": true, "UPROPOSER": true, "UGONE": false},
		Groups:      []string{"SRELMGRS"},
		ExpireAfter: 24 * time.Hour,
	}
	proposed := func() *release.Release {
		return &release.Release{
			ID: "prod-2026-11-24-1", Pipeline: "prod", State: release.Proposed, ManifestDigest: digest,
			Proposer: "UPROPOSER", CreatedAt: t0, ExpiresAt: policy.ExpiresAt(t0), Required: 2,
		}
	}
	alice := release.Clicker{UserID: "UALICE", TeamID: "T1"}
	tests := []struct {
		name    string
		policy  func(release.Policy) release.Policy
		release func(*release.Release)
		clicker release.Clicker
		digest  string
		now     time.Time
		want    release.RefusalReason // "" = allowed
		text    string                // a part of the text the person reads
	}{
		{name: "approver by user id", clicker: alice},
		{name: "approver by group", clicker: release.Clicker{UserID: "UCAROL", Groups: []string{"SOTHER", "SRELMGRS"}}},
		{name: "last moment before expiry", clicker: alice, now: t0.Add(24*time.Hour - time.Nanosecond)},
		{name: "gate failed in warn mode", clicker: alice,
			release: func(r *release.Release) { r.Gate = &release.Gate{Mode: release.GateWarn} }},
		{name: "self approval allowed", clicker: release.Clicker{UserID: "UPROPOSER"},
			policy: func(p release.Policy) release.Policy { p.AllowSelfApproval = true; return p }},

		{name: "bot", clicker: release.Clicker{UserID: "UALICE", IsBot: true}, want: release.RefusedBot, text: "Bots cannot"},
		{name: "guest", clicker: release.Clicker{UserID: "UALICE", IsGuest: true}, want: release.RefusedGuest, text: "Guests cannot"},
		{name: "deleted", clicker: release.Clicker{UserID: "UALICE", Deleted: true}, want: release.RefusedDeleted, text: "Deactivated"},
		{name: "not an approver names who may", clicker: release.Clicker{UserID: "UCAROL", Groups: []string{"SOTHER"}},
			want: release.RefusedNotApprover, text: "You are not an approver of *prod* releases. Only <@UALICE>, <@UBOB>, <@UPROPOSER> or members of <!subteam^SRELMGRS> may approve."},
		{name: "a user listed as false is not an approver", clicker: release.Clicker{UserID: "UGONE"}, want: release.RefusedNotApprover},
		{name: "nobody configured", clicker: alice, policy: func(release.Policy) release.Policy { return release.Policy{} },
			want: release.RefusedNotApprover, text: "No approvers are configured"},
		{name: "own release", clicker: release.Clicker{UserID: "UPROPOSER"}, want: release.RefusedOwnRelease,
			text: "You proposed release prod-2026-11-24-1, so you cannot approve it: it needs 2 approvals from someone else."},
		{name: "stale digest", clicker: alice, digest: "sha256:0000", want: release.RefusedStaleDigest,
			text: "This button is for an older version of release prod-2026-11-24-1"},
		{name: "approved already", clicker: alice, release: func(r *release.Release) { r.State = release.Approved },
			want: release.RefusedWrongState, text: "Release prod-2026-11-24-1 is now approved; this button no longer does anything."},
		{name: "rejected", clicker: alice, release: func(r *release.Release) { r.State = release.Rejected },
			want: release.RefusedWrongState, text: "is now rejected"},
		{name: "partly failed", clicker: alice, release: func(r *release.Release) { r.State = release.PartlyFailed },
			want: release.RefusedWrongState, text: "is now partly failed"},
		{name: "moved on beats a stale digest", clicker: alice, digest: "sha256:0000",
			release: func(r *release.Release) { r.State = release.Cancelled }, want: release.RefusedWrongState},
		{name: "expired", clicker: alice, now: t0.Add(27 * time.Hour), want: release.RefusedExpired,
			text: "Release prod-2026-11-24-1 expired 3h ago, before it had 2 approvals. Propose it again with `/release propose prod`."},
		{name: "expired beats a stale digest", clicker: alice, digest: "sha256:0000", now: t0.Add(24 * time.Hour), want: release.RefusedExpired},
		{name: "twice", clicker: alice, release: func(r *release.Release) {
			r.Approvals = []release.Approval{{UserID: "UALICE", At: t0, Digest: digest}}
		}, want: release.RefusedAlreadyApproved, text: "each person counts once. It needs 1 approval more."},
		{name: "gate failed", clicker: alice, release: func(r *release.Release) { r.Gate = &release.Gate{Mode: release.GateEnforce} },
			want: release.RefusedGateFailed, text: "failed the compliance gate"},
		{name: "who comes before what", clicker: release.Clicker{UserID: "UCAROL"}, digest: "sha256:0000",
			release: func(r *release.Release) { r.State = release.Rejected }, want: release.RefusedNotApprover},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, r, d, now := policy, proposed(), tt.digest, tt.now
			if tt.policy != nil {
				p = tt.policy(p)
			}
			if tt.release != nil {
				tt.release(r)
			}
			if d == "" {
				d = digest
			}
			if now.IsZero() {
				now = t0.Add(time.Hour)
			}
			got := p.CheckApprover(r, tt.clicker, d, now)
			if tt.want == "" {
				if got != nil {
					t.Fatalf("refused: %s (%s)", got.Reason, got.Text)
				}
				return
			}
			if got == nil {
				t.Fatalf("allowed, want %s", tt.want)
			}
			if got.Reason != tt.want {
				t.Fatalf("reason %s (%s), want %s", got.Reason, got.Text, tt.want)
			}
			if !strings.Contains(got.Text, tt.text) {
				t.Errorf("text %q\ndoes not contain %q", got.Text, tt.text)
			}
			var err error = got
			if !errors.Is(err, &release.Refusal{Reason: tt.want}) || errors.Is(err, &release.Refusal{Reason: "other"}) {
				t.Error("errors.Is does not match on the reason")
			}
			if err.Error() != got.Text {
				t.Errorf("Error() = %q, want the text", err.Error())
			}
		})
	}
}

func TestPolicyExpiresAt(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	if got := (release.Policy{ExpireAfter: time.Hour}).ExpiresAt(t0); !got.Equal(t0.Add(time.Hour)) {
		t.Errorf("ExpiresAt = %v", got)
	}
	if got := (release.Policy{}).ExpiresAt(t0); !got.IsZero() {
		t.Errorf("ExpiresAt without ExpireAfter = %v, want zero", got)
	}
}
