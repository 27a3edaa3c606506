package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/release-bot/release-bot/internal/github/githubtest"
	"github.com/release-bot/release-bot/internal/kosli"
	"github.com/release-bot/release-bot/internal/kosli/kositest"
	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/secret"
	"github.com/release-bot/release-bot/internal/slackbot/slacktest"
)

// enforced makes aws-prod judge by its policy, as Kosli does once the
// policy of deploy/kosli/ is attached: the fixture's verdicts for aws-prod
// are dropped.
func enforced(t *testing.T, b *bot, fixture string) []string {
	t.Helper()
	if err := b.kosli.AttachPolicy("aws-prod", sandboxPolicy); err != nil {
		t.Fatal(err)
	}
	var fps []string
	for _, a := range loadFixture(t, fixture).Source.Artifacts {
		b.kosli.ClearVerdict(a.Fingerprint, "aws-prod")
		fps = append(fps, a.Fingerprint)
	}
	return fps
}

// reportRecorded waits for the release's report to be all in Kosli (its
// message then links the trail): propose posts the message first and
// sends the report right after.
func reportRecorded(t *testing.T, b *bot, ts string) {
	t.Helper()
	b.waitFor("the report in Kosli", func(st *slacktest.State) bool {
		m, _ := st.Message(releaseChannel, ts)
		return strings.Contains(blocksText(t, m.Blocks), ":receipt: Evidence: ")
	})
}

// assertProd is `kosli assert artifact --environment aws-prod`, as the
// workflow's gate runs it.
func assertProd(t *testing.T, b *bot, fp string) release.Compliance {
	t.Helper()
	kc, err := kosli.New(kosli.Options{Host: b.kosli.URL(), Org: "cyber-dojo", Token: secret.New(kosliToken)})
	if err != nil {
		t.Fatal(err)
	}
	c, err := kc.Compliance(context.Background(), fp, "aws-prod")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestEvidenceApprovalIsWhatTheDeploysGateAsserts is the loop of issue 15:
// before any release an incoming artifact is not compliant in aws-prod,
// naming the control, and the release shows that as awaiting its approval;
// the approved release records the decisions before it dispatches, and
// then Kosli's assert finds every artifact compliant.
func TestEvidenceApprovalIsWhatTheDeploysGateAsserts(t *testing.T) {
	t.Parallel()
	b := startShip(t, "2", githubtest.Workflow{}, shipSetup{})
	fps := enforced(t, b.bot, "2")
	for _, fp := range fps {
		c := assertProd(t, b.bot, fp)
		if c.Compliant || !strings.Contains(strings.Join(c.Failures, "; "), "missing required decision for control 'release-approved'") {
			t.Fatalf("before any release, %s in aws-prod: %+v; want the control's decision missing", fp[:8], c)
		}
	}
	b.command(alice, releaseChannel, "propose")
	msg := b.releaseMessage()
	text := blocksText(t, msg.Blocks)
	if strings.Count(text, "aws-prod: awaiting this release's approval") != 2 || !strings.Contains(text, "SDLC gate passed") {
		t.Fatalf("the release does not show the missing decision as awaiting it:\n%s", text)
	}
	b.click(carol, msg.TS, "release_approve")
	b.threadHas(msg.TS, "Workflow run <")
	// The decisions were in Kosli before GitHub was asked.
	dispatchedAt := b.gh.RequestsTo(githubtest.RouteDispatch)[0].Time
	for _, q := range b.kosli.RequestsTo(kositest.RouteAttestations) {
		if strings.HasSuffix(q.Path, "/system") && q.Time.After(dispatchedAt) {
			t.Errorf("a decision was sent at %s, after the dispatch at %s", q.Time, dispatchedAt)
		}
	}
	for _, fp := range fps {
		if c := assertProd(t, b.bot, fp); !c.Compliant {
			t.Errorf("after the approval, %s in aws-prod: %+v; want compliant", fp[:8], c)
		}
	}
	// Each decision says what was approved and by whom (users.info).
	for _, a := range b.kosli.Attestations() {
		if a.Kind != "system" {
			continue
		}
		ud, _ := a.Payload["user_data"].(map[string]any)
		approvers, _ := ud["approvers"].([]any)
		if ud["manifest_digest"] == nil || ud["required"] != float64(1) || len(approvers) != 1 {
			t.Errorf("decision %s user_data = %v", a.Name, ud)
			continue
		}
		who, _ := approvers[0].(map[string]any)
		if who["slack_id"] != carol || who["name"] != "carol" || who["email"] != "carol@example.com" || who["at"] == nil {
			t.Errorf("decision %s names its approver %v", a.Name, who)
		}
	}
	b.threadHas(msg.TS, "Release succeeded")
	// /release status says what Kosli holds, item by item.
	b.command(bob, releaseChannel, "status")
	status := b.ephemeral(releaseChannel, bob, "Evidence in Kosli:")
	for _, want := range []string{
		":white_check_mark: trail, artifacts and manifest: recorded",
		":white_check_mark: decision (approved) for control `release-approved`: recorded",
	} {
		if !strings.Contains(status.Text, want) {
			t.Errorf("status lacks %q:\n%s", want, status.Text)
		}
	}
	if !eventually(func() bool { return decisions(b.bot) == 2 && len(b.kosli.Attestations()) == 2+2+1+2 }) {
		t.Errorf("attestations %d, want 2 promotions + 2 decisions + manifest + deployment + verification", len(b.kosli.Attestations()))
	}
}

// TestEvidenceAMissingControlStopsTheStart: a pipeline whose control Kosli
// lacks (GET /controls/{org}/{id} answers 404, kosli-dev/cli
// cmd/kosli/getControl_test.go) does not start, and is told how to create it.
func TestEvidenceAMissingControlStopsTheStart(t *testing.T) {
	t.Parallel()
	_, _, started, err := serveWith(t, botToken, appToken, func(*kositest.Server) {})
	if err == nil || started {
		t.Fatalf("serve started (%v) without the control: %v", started, err)
	}
	for _, want := range []string{"pipeline prod", `no control "release-approved"`, "kosli create control release-approved", "--org cyber-dojo"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("start-up error lacks %q: %v", want, err)
		}
	}
}

// TestEvidenceAControlDeletedAfterTheStartMakesTheBotUnready: /readyz
// reports it, and the release whose decision Kosli then refuses ends as
// evidence_failed, told once, with nothing dispatched.
func TestEvidenceAControlDeletedAfterTheStartMakesTheBotUnready(t *testing.T) {
	t.Parallel()
	b := startShip(t, "2", githubtest.Workflow{}, shipSetup{}, func(o *serveOptions) { o.ControlsEvery = 50 * time.Millisecond })
	if !eventually(func() bool { return b.readyz() == 200 }) {
		t.Fatal("never ready")
	}
	b.command(alice, releaseChannel, "propose")
	msg := b.releaseMessage()
	b.kosli.DeleteControl("release-approved")
	if !eventually(func() bool { return b.readyz() == 503 }) {
		t.Error("ready with the control deleted")
	}
	b.click(carol, msg.TS, "release_approve")
	b.threadHas(msg.TS, "Not dispatched: Kosli refused the decision")
	if n := b.threadCount(msg.TS, "Not dispatched"); n != 1 {
		t.Errorf("told %d times", n)
	}
	if n := len(b.gh.RequestsTo(githubtest.RouteDispatch)); n != 0 {
		t.Errorf("%d dispatches without the decision", n)
	}
}

// TestEvidenceARejectedReleaseLeavesItsArtifactsNonCompliant: the decision
// of a rejected release is recorded non-compliant, and the same promotions
// dispatched anyway fail the gate, naming the control.
func TestEvidenceARejectedReleaseLeavesItsArtifactsNonCompliant(t *testing.T) {
	t.Parallel()
	b := startShip(t, "2", githubtest.Workflow{}, shipSetup{})
	fps := enforced(t, b.bot, "2")
	b.command(alice, releaseChannel, "propose")
	msg := b.releaseMessage()
	if _, err := b.slack.SendEnvelope("interactive", b.rejectDialog(carol, msg.TS)("the nginx change is not ready")); err != nil {
		t.Fatal(err)
	}
	b.threadHas(msg.TS, "rejected the release")
	if !eventually(func() bool { return decisions(b.bot) == 2 }) {
		t.Fatalf("waiting for %s", "the decisions in Kosli")
	}
	for _, fp := range fps {
		c := assertProd(t, b.bot, fp)
		if c.Compliant || !strings.Contains(strings.Join(c.Failures, "; "), "decision for control 'release-approved' is non-compliant") {
			t.Errorf("after the rejection, %s in aws-prod: %+v; want the control's decision non-compliant", fp[:8], c)
		}
	}
	if n := len(b.gh.RequestsTo(githubtest.RouteDispatch)); n != 0 {
		t.Errorf("%d dispatches of a rejected release", n)
	}
}

// TestEvidenceKosliDownAtTheLastApprovalDelaysTheDispatch: the decision
// cannot be recorded; the release stays approved, the thread is told once,
// and it is dispatched once when Kosli takes the decision.
func TestEvidenceKosliDownAtTheLastApprovalDelaysTheDispatch(t *testing.T) {
	t.Parallel()
	b := startShip(t, "2", githubtest.Workflow{}, shipSetup{})
	b.command(alice, releaseChannel, "propose")
	msg := b.releaseMessage()
	reportRecorded(t, b.bot, msg.TS)
	b.kosli.FailNext(kositest.RouteAttestations, 6, 503)
	b.click(carol, msg.TS, "release_approve")
	b.threadHas(msg.TS, "waiting for Kosli to record the decision")
	b.threadHas(msg.TS, "Workflow run <")
	if n := b.threadCount(msg.TS, "waiting for Kosli to record the decision"); n != 1 {
		t.Errorf("told %d times that the dispatch waits, want once", n)
	}
	if n := len(b.gh.RequestsTo(githubtest.RouteDispatch)); n != 1 {
		t.Errorf("%d dispatches, want 1", n)
	}
	if n := decisions(b.bot); n != 2 {
		t.Errorf("%d decisions in Kosli, want 2 (one per artifact)", n)
	}
	b.threadHas(msg.TS, "Release succeeded")
}

// TestEvidenceKosliDownPastTheTimeoutDispatchesNothing: past
// evidence.timeout (3s here) the release ends as evidence_failed, and
// nothing reaches GitHub.
func TestEvidenceKosliDownPastTheTimeoutDispatchesNothing(t *testing.T) {
	t.Parallel()
	b := startShip(t, "2", githubtest.Workflow{}, shipSetup{}, func(o *serveOptions) { o.SweepEvery = 200 * time.Millisecond })
	b.command(alice, releaseChannel, "propose")
	msg := b.releaseMessage()
	reportRecorded(t, b.bot, msg.TS)
	b.kosli.FailNext(kositest.RouteAttestations, 1000, 503)
	b.click(carol, msg.TS, "release_approve")
	b.threadHas(msg.TS, "waiting for Kosli to record the decision")
	b.threadHas(msg.TS, "Not dispatched: Kosli did not record the decision within 3s")
	list, err := b.store().List(context.Background(), "prod", 1)
	if err != nil || len(list) != 1 {
		t.Fatal(list, err)
	}
	if r := list[0]; r.State != release.EvidenceFailed {
		t.Errorf("release is %s, want evidence_failed", r.State)
	}
	if n := len(b.gh.RequestsTo(githubtest.RouteDispatch)); n != 0 {
		t.Errorf("%d dispatches without the decision in Kosli", n)
	}
}

func decisions(b *bot) int {
	n := 0
	for _, a := range b.kosli.Attestations() {
		if a.Kind == "system" {
			n++
		}
	}
	return n
}

// TestEvidenceRequestsOfAFiveArtifactRelease counts what one release of 5
// artifacts asks of Kosli, propose to verified, by endpoint: the figures of
// the closing note, and a guard against a request added by mistake.
func TestEvidenceRequestsOfAFiveArtifactRelease(t *testing.T) {
	t.Parallel()
	b := startShip(t, "gen:15", githubtest.Workflow{}, shipSetup{})
	ts := b.proposeAndApprove()
	b.threadHas(ts, "Release succeeded")
	if !eventually(func() bool { return len(b.kosli.Attestations()) == 5+5+1+2 }) {
		t.Fatalf("%d attestations, want 13", len(b.kosli.Attestations()))
	}
	byRoute := map[string]int{}
	writes := 0
	for _, q := range b.kosli.Requests() {
		route := q.Method + " " + string(q.Route)
		if q.Route == kositest.RouteAttestations {
			route += q.Path[strings.LastIndex(q.Path, "/"):]
		}
		byRoute[route]++
		if q.Method != http.MethodGet {
			writes++
		}
	}
	t.Logf("Kosli requests of one 5-artifact release: %d in all, %d writes: %v", len(b.kosli.Requests()), writes, byRoute)
	// flow, trail, the promotion type (created once per org), 5 artifacts,
	// 5 promotions, the manifest, 5 decisions, the deployment, the verification.
	if writes != 1+1+1+5+5+1+5+1+1 {
		t.Errorf("%d writes to Kosli, want 21", writes)
	}
	if n := byRoute["GET attestations"]; n != 0 {
		t.Errorf("%d reads of attestations with no answer lost", n)
	}
}

// TestEvidenceARestartWithItemsInTheOutbox: Kosli is down when a release is
// proposed and the bot restarts before it is back; the new process delivers
// the evidence, once.
func TestEvidenceARestartWithItemsInTheOutbox(t *testing.T) {
	t.Parallel()
	b := startBot(t, "2")
	b.kosli.FailNext(kositest.RouteFlows, 1000, 503)
	b.command(alice, releaseChannel, "propose")
	msg := b.releaseMessage()
	b.threadHas(msg.TS, "The evidence is not in Kosli yet (Kosli answered HTTP 503")
	b.restart()
	b.kosli.Clear(kositest.RouteFlows)
	b.waitParent(msg.TS, "the evidence recorded", ":receipt: Evidence: ")
	for _, name := range []string{"web.promotion", "nginx.promotion", "release-manifest"} {
		n := 0
		for _, a := range b.kosli.Attestations() {
			if a.Name == name {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s recorded %d times across the restart, want 1", name, n)
		}
	}
	if n := b.threadCount(msg.TS, "The evidence is not in Kosli yet"); n != 1 {
		t.Errorf("told %d times that the evidence is missing, want once", n)
	}
}

// TestEvidenceAnArtifactKosliDoesNotKnow: the gate says so (the assert
// answers "Artifact with fingerprint … does not exist", kosli-dev/cli
// cmd/kosli/assertArtifact_test.go) and blocks; nothing crashes, and the
// evidence is still recorded (reporting the artifact into the trail makes
// Kosli know it).
func TestEvidenceAnArtifactKosliDoesNotKnow(t *testing.T) {
	t.Parallel()
	b := startBot(t, "2")
	for _, a := range loadFixture(t, "2").Source.Artifacts {
		if strings.HasPrefix(a.Flow, "web") {
			b.kosli.ClearVerdict(a.Fingerprint, "aws-prod")
			b.kosli.ClearVerdict(a.Fingerprint, "aws-beta")
			b.kosli.Script(kositest.RouteAsserts, kositest.Response{Status: 404, Body: `{"message":"Artifact with fingerprint '` + a.Fingerprint + `' does not exist in organization 'cyber-dojo'"}`})
		}
	}
	b.command(alice, releaseChannel, "propose")
	msg := b.releaseMessage()
	if text := blocksText(t, msg.Blocks); !strings.Contains(text, "not compliant: unknown to Kosli") {
		t.Errorf("the release does not say Kosli does not know the artifact:\n%s", text)
	}
	if !eventually(func() bool { return len(b.kosli.Artifacts()) == 2 }) {
		t.Errorf("%d artifacts reported into the trail, want 2", len(b.kosli.Artifacts()))
	}
}
