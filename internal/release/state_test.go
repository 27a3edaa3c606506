package release_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/release-bot/release-bot/internal/release"
)

func TestCanMove(t *testing.T) {
	allowed := map[release.State][]release.State{
		release.Proposed:    {release.Approved, release.Rejected, release.Cancelled, release.Expired, release.Superseded, release.Stale},
		release.Approved:    {release.Dispatching, release.Stale, release.Cancelled, release.Expired},
		release.Dispatching: {release.Deploying, release.Failed, release.Cancelled, release.EvidenceFailed},
		release.Deploying:   {release.Succeeded, release.Failed, release.PartlyFailed, release.TimedOut, release.Cancelled},
	}
	// Every pair of states, so that an edge added by mistake fails as surely as one removed.
	for _, from := range release.States {
		for _, to := range release.States {
			want := false
			for _, s := range allowed[from] {
				want = want || s == to
			}
			if got := release.CanMove(from, to); got != want {
				t.Errorf("CanMove(%s, %s) = %v, want %v", from, to, got, want)
			}
		}
	}
	if release.CanMove("", release.Proposed) || release.CanMove(release.Proposed, "bogus") || release.CanMove("bogus", release.Approved) {
		t.Error("CanMove accepts a state that does not exist")
	}
}

func TestTerminalAndOpen(t *testing.T) {
	tests := []struct {
		s              release.State
		terminal, open bool
		label          string
	}{
		{release.Proposed, false, true, "proposed"},
		{release.Approved, false, true, "approved"},
		{release.Dispatching, false, true, "dispatching"},
		{release.Deploying, false, true, "deploying"},
		{release.Succeeded, true, false, "succeeded"},
		{release.Failed, true, false, "failed"},
		{release.PartlyFailed, true, false, "partly failed"},
		{release.TimedOut, true, false, "timed out"},
		{release.Rejected, true, false, "rejected"},
		{release.Cancelled, true, false, "cancelled"},
		{release.Expired, true, false, "expired"},
		{release.Superseded, true, false, "superseded"},
		{release.Stale, true, false, "stale"},
		{release.EvidenceFailed, true, false, "evidence failed"},
		{"bogus", false, false, "bogus"},
	}
	if len(tests)-1 != len(release.States) {
		t.Fatalf("table has %d states, release.States %d", len(tests)-1, len(release.States))
	}
	for _, tt := range tests {
		if got := tt.s.Terminal(); got != tt.terminal {
			t.Errorf("%s.Terminal() = %v", tt.s, got)
		}
		if got := tt.s.Open(); got != tt.open {
			t.Errorf("%s.Open() = %v", tt.s, got)
		}
		if got := tt.s.Label(); got != tt.label {
			t.Errorf("%s.Label() = %q, want %q", tt.s, got, tt.label)
		}
		if tt.s != "bogus" && !tt.s.Valid() {
			t.Errorf("%s.Valid() = false", tt.s)
		}
	}
}

func TestReleaseApprovals(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	r := release.Release{Required: 2}
	if r.Remaining() != 2 || r.HasApproved("U1") || len(r.Approvers()) != 0 {
		t.Fatalf("empty release: remaining %d, approvers %v", r.Remaining(), r.Approvers())
	}
	r.Approvals = append(r.Approvals, release.Approval{UserID: "U2", At: t0}, release.Approval{UserID: "U1", At: t0.Add(time.Minute)})
	if !reflect.DeepEqual(r.Approvers(), []string{"U2", "U1"}) {
		t.Errorf("Approvers() = %v", r.Approvers())
	}
	if !r.HasApproved("U1") || r.HasApproved("U3") {
		t.Error("HasApproved")
	}
	r.Approvals = append(r.Approvals, release.Approval{UserID: "U3"})
	if r.Remaining() != 0 {
		t.Errorf("Remaining() = %d after more approvals than required", r.Remaining())
	}
}

func TestReleaseExpired(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	r := release.Release{ExpiresAt: t0}
	for _, tt := range []struct {
		at   time.Time
		want bool
	}{{t0.Add(-time.Nanosecond), false}, {t0, true}, {t0.Add(time.Hour), true}} {
		if got := r.Expired(tt.at); got != tt.want {
			t.Errorf("Expired(%v) = %v", tt.at, got)
		}
	}
	if (&release.Release{}).Expired(t0.AddDate(100, 0, 0)) {
		t.Error("a release without ExpiresAt expired")
	}
}

func TestReleaseJSONRoundTrip(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	r := release.Release{
		ID: "prod-2026-11-24-1", Pipeline: "prod", State: release.Approved, Version: 4,
		ManifestDigest: "sha256:abc", Proposer: "U1", CreatedAt: t0, ExpiresAt: t0.Add(24 * time.Hour), Required: 1,
		Approvals: []release.Approval{{UserID: "U2", At: t0, Digest: "sha256:abc"}},
		Rejection: &release.Decision{UserID: "U3", At: t0, Reason: "no"},
		Channel:   "C0123456789", MessageTS: "1700000000.000100",
		Gate: &release.Gate{Mode: release.GateWarn, Results: []release.Compliance{{Fingerprint: "f", Environment: "aws-prod"}}},
		Evidence: &release.Evidence{Flow: "production-promotion", Trail: "prod-2026-11-24-1", Control: "release-approved",
			Items: []release.EvidenceItem{{ID: "report", Kind: release.EvidenceReport, Status: release.EvidenceRecorded, CreatedAt: t0, DoneAt: t0}}},
		Run:     &release.Run{ID: 42, HTMLURL: "https://github.com/o/r/actions/runs/42", DispatchedAt: t0},
		Details: json.RawMessage(`{"k":1}`),
		History: []release.Transition{{To: release.Proposed, At: t0, By: "U1"}, {From: release.Proposed, To: release.Approved, At: t0}},
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var got release.Release
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, r) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, r)
	}
}

func TestGateBlocks(t *testing.T) {
	for _, tt := range []struct {
		g    *release.Gate
		want bool
	}{
		{nil, false},
		{&release.Gate{Mode: release.GateEnforce, Passed: true}, false},
		{&release.Gate{Mode: release.GateEnforce}, true},
		{&release.Gate{Mode: release.GateWarn}, false},
		{&release.Gate{}, true}, // no mode: enforce, the safe default
	} {
		if got := tt.g.Blocks(); got != tt.want {
			t.Errorf("%+v.Blocks() = %v", tt.g, got)
		}
	}
}

func TestANewDecisionSupersedesOneNotYetRecorded(t *testing.T) {
	at := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	r := &release.Release{Evidence: &release.Evidence{}}
	r.AddEvidence(release.EvidenceItem{ID: "report", Kind: release.EvidenceReport, CreatedAt: at})
	approved := r.AddEvidence(release.EvidenceItem{Kind: release.EvidenceDecision, Compliant: true, Cause: release.Approved, CreatedAt: at})
	if r.Evidence.DecisionRecorded() {
		t.Fatal("a pending decision counts as recorded")
	}
	stale := r.AddEvidence(release.EvidenceItem{Kind: release.EvidenceDecision, Cause: release.Stale, CreatedAt: at})
	if approved == stale {
		t.Fatalf("two decisions share the id %q", stale)
	}
	if it := r.Evidence.Item(approved); it.Status != release.EvidenceSuperseded {
		t.Errorf("the approval's decision is %s after a later one, want superseded", it.Status)
	}
	if it := r.Evidence.Item("report"); it.Status != release.EvidencePending {
		t.Errorf("the report is %s, want pending: only decisions supersede each other", it.Status)
	}
	r.AddEvidence(release.EvidenceItem{ID: "report", Kind: release.EvidenceReport})
	if n := len(r.Evidence.Items); n != 3 {
		t.Errorf("an item added twice under one id is kept twice: %d items", n)
	}
	for i := range r.Evidence.Items {
		r.Evidence.Items[i].Status = release.EvidenceRecorded
	}
	if r.Evidence.DecisionRecorded() {
		t.Error("a recorded non-compliant decision lets the release dispatch")
	}
}
