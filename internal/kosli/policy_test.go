package kosli_test

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/release-bot/release-bot/internal/kosli"
	"github.com/release-bot/release-bot/internal/kosli/kositest"
)

// decisionPolicy is kosli-dev/cli cmd/kosli/testdata/policy-files/test-policy-for-control.yml,
// for the bot's control.
const decisionPolicy = `_schema: https://kosli.com/schemas/policy/environment/v1

artifacts:
  provenance:
    required: true
  attestations:
    - name: decision
      type: decision
      for_control: release-approved
`

// An environment whose policy requires a decision for a control refuses the
// artifact until a compliant decision for that control counts for it:
// kosli-dev/cli cmd/kosli/assertArtifact_test.go cases 18 ("artifact is
// missing required decision for control '…'", no decision in the trail) and
// 19 ("decision for control '…' is non-compliant in trail", a non-compliant
// decision recorded in the artifact's trail); the resolutions are read as
// cmd/kosli/assertArtifact.go reads them. The latest decision deciding, and
// a decision bound to the fingerprint in another trail counting, are *inferred*.
func TestAPolicyRequiresACompliantDecisionForTheControl(t *testing.T) {
	h := setup(t)
	setupTrail(t, h)
	h.srv.AddControl(control, "Release approved")
	if err := h.srv.AttachPolicy("aws-prod", decisionPolicy); err != nil {
		t.Fatal(err)
	}
	reportWeb(t, h)
	verdict := func() (bool, []string, string) {
		t.Helper()
		a, err := h.c.Assert(ctx(t), fpWeb, kosli.AssertQuery{Environment: "aws-prod"})
		if err != nil {
			t.Fatal(err)
		}
		c, err := h.c.Compliance(ctx(t), fpWeb, "aws-prod")
		if err != nil {
			t.Fatal(err)
		}
		if c.Compliant != a.Compliant {
			t.Fatalf("Compliance %v, Assert %v", c.Compliant, a.Compliant)
		}
		return a.Compliant, c.Failures, a.Scope
	}
	ok, why, scope := verdict()
	if ok || !reflect.DeepEqual(why, []string{"aws-prod-policy: missing required decision for control 'release-approved'"}) || scope != "environment" {
		t.Fatalf("before any decision: %v %q %s", ok, why, scope)
	}
	decide := func(trail string, compliant bool, fp string) {
		t.Helper()
		if err := h.c.AttestDecision(ctx(t), promoFlow, trail, kosli.Attestation{
			Name: "decision", Compliant: &compliant, Control: control, ArtifactFingerprint: fp,
		}); err != nil {
			t.Fatal(err)
		}
	}
	decide(promoTrail, false, "") // a trail's own decision counts for its artifacts (case 19)
	ok, why, _ = verdict()
	wantWhy := []string{
		"aws-prod-policy: decision for control 'release-approved' is non-compliant in trail",
		"flow production-promotion, trail release-42: attestation 'decision' (type: decision) is non-compliant",
	}
	if ok || !reflect.DeepEqual(why, wantWhy) {
		t.Fatalf("after a refusal: %v %q", ok, why)
	}
	decide(promoTrail, true, fpWeb)
	a, err := h.c.Assert(ctx(t), fpWeb, kosli.AssertQuery{Environment: "aws-prod"})
	if err != nil || !a.Compliant || len(a.PolicyEvaluations) != 1 || a.PolicyEvaluations[0].Status != "COMPLIANT" {
		t.Fatalf("after an approval: %+v, %v", a, err)
	}
}

// A decision for another control, or none, leaves the rule unmet; an
// artifact the fake has never heard of is Kosli's "does not exist" error.
func TestAPolicyIgnoresDecisionsForOtherControls(t *testing.T) {
	h := setup(t)
	setupTrail(t, h)
	h.srv.AddControl(control, "Release approved")
	h.srv.AddControl("other-control", "Other")
	if err := h.srv.AttachPolicy("aws-prod", decisionPolicy); err != nil {
		t.Fatal(err)
	}
	reportWeb(t, h)
	yes := true
	if err := h.c.AttestDecision(ctx(t), promoFlow, promoTrail, kosli.Attestation{
		Name: "decision", Compliant: &yes, Control: "other-control", ArtifactFingerprint: fpWeb,
	}); err != nil {
		t.Fatal(err)
	}
	c, err := h.c.Compliance(ctx(t), fpWeb, "aws-prod")
	if err != nil || c.Compliant || len(c.Failures) != 1 || c.Failures[0] != "aws-prod-policy: missing required decision for control 'release-approved'" {
		t.Errorf("other control: %+v %v", c, err)
	}
	c, err = h.c.Compliance(ctx(t), fpNginx, "aws-prod")
	if err != nil || !c.Unknown {
		t.Errorf("unknown artifact: %+v %v", c, err)
	}
}

// The snapshot id "@{...}" goes in the path as `kosli get snapshot` sends it,
// "@%7B2023-07-04T11:04:02%7D" (kosli-dev/cli cmd/kosli/cli_utils_test.go,
// TestHandleSnapshotExpressions); the forms are those cmd/kosli/getSnapshot.go
// documents: a UTC moment or "N.<hours|days|weeks|months>.ago".
func TestSnapshotAtAMoment(t *testing.T) {
	h := setup(t)
	t0 := time.Date(2023, 7, 4, 11, 0, 0, 0, time.UTC)
	now := t0
	h.srv.SetClock(func() time.Time { return now })
	h.srv.SetEnvironment("aws-prod", []kositest.Artifact{running(fpOld, "web", 1)})
	now = t0.Add(3 * time.Hour)
	h.srv.SetEnvironment("aws-prod", []kositest.Artifact{running(fpWeb, "web", 1)})
	for id, want := range map[string]int{
		"@{2023-07-04T11:04:02}": 1, "@{2023-07-04T14:00:00}": 2, "@{2.hours.ago}": 1, "@{1.hours.ago}": 1, "@{0.days.ago}": 2,
	} {
		s, err := h.c.Snapshot(ctx(t), "aws-prod", id)
		if err != nil || s.Index != want {
			t.Errorf("%s: snapshot #%d, %v; want #%d", id, s.Index, err, want)
		}
	}
	if _, err := h.c.Snapshot(ctx(t), "aws-prod", "@{0.days.ago}"); err != nil {
		t.Fatal(err)
	}
	last := h.srv.Requests()[len(h.srv.Requests())-1].Path
	if p, _ := url.PathUnescape(last); p != "/api/v2/snapshots/cyber-dojo/aws-prod/@{0.days.ago}" || last != "/api/v2/snapshots/cyber-dojo/aws-prod/@%7B0.days.ago%7D" {
		t.Errorf("path %s", last)
	}
	if _, err := h.c.Snapshot(ctx(t), "aws-prod", "@{2023-07-04T10:59:59}"); err == nil {
		t.Error("a moment before the first snapshot found one")
	}
	for _, bad := range []string{"@{}", "@2.hours.ago", "@{a}{b}"} {
		if _, err := h.c.Snapshot(ctx(t), "aws-prod", bad); err == nil || !strings.Contains(err.Error(), "snapshot id") {
			t.Errorf("%s: %v", bad, err)
		}
	}
	// A diff takes the same snappish.
	d, err := h.c.EnvDiff(ctx(t), "aws-prod@{2023-07-04T12:00:00}", "aws-prod")
	if err != nil || d.Source.SnapshotID != "aws-prod#1" || d.Target.SnapshotID != "aws-prod#2" {
		t.Errorf("diff %+v, %v", d, err)
	}
}
