package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/release-bot/release-bot/internal/config"
	"github.com/release-bot/release-bot/internal/github/githubtest"
	"github.com/release-bot/release-bot/internal/kosli/kositest"
	"github.com/release-bot/release-bot/internal/release"
)

// withBreakGlass runs the ship pipeline with break_glass set as given (a
// flow mapping's inside, e.g. `allowed: ["U0ALICE0001"], required: 0`).
func withBreakGlass(t *testing.T, breakGlass string) botOption {
	t.Helper()
	yaml := strings.Replace(shipConfig, "TIMEOUT", "2h", 1) + "    break_glass: { " + breakGlass + " }\n"
	cfg, err := config.Parse("ship.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return func(o *serveOptions) { o.Config = cfg }
}

func TestBreakGlassRefusals(t *testing.T) {
	b := startBot(t, "2")
	b.command(alice, releaseChannel, "propose --break-glass login is down")
	b.ephemeral(releaseChannel, alice, "Pipeline `prod` allows no break-glass release")

	s := startShip(t, "2", githubtest.Workflow{}, shipSetup{}, withBreakGlass(t, `allowed: ["U0ALICE0001"], required: 0`))
	for _, tc := range []struct{ user, text, want string }{
		{bob, "propose --break-glass login is down", "Only <@" + alice + "> can propose a break-glass release of pipeline `prod`."},
		{dave, "propose --break-glass login is down", "Only <@" + alice + "> can propose a break-glass release"},
		{alice, "propose --break-glass", "`--break-glass` needs a reason"},
		{alice, "propose nope --break-glass down", "There is no pipeline called `nope`"},
	} {
		s.command(tc.user, releaseChannel, tc.text)
		s.ephemeral(releaseChannel, tc.user, tc.want)
	}
	if n := s.channelPosts(); n != 0 {
		t.Errorf("%d channel messages after refused break-glass proposals", n)
	}
	if list, err := s.store().List(context.Background(), "prod", 5); err != nil || len(list) != 0 {
		t.Errorf("releases after refusals: %d, %v", len(list), err)
	}
}

// TestBreakGlassShipsAtOnceThroughAFreeze: with required 0, a break-glass
// release by an allowed person ships while the pipeline is frozen; it is
// loud, the approvers are mentioned, and the manifest records it.
func TestBreakGlassShipsAtOnceThroughAFreeze(t *testing.T) {
	b := startShip(t, "2", githubtest.Workflow{}, shipSetup{}, withBreakGlass(t, `allowed: ["U0ALICE0001"], required: 0, review_within: 12h`))
	b.command(carol, releaseChannel, "freeze 4h change freeze")
	b.channelHas("froze pipeline `prod`")
	b.command(alice, releaseChannel, "propose")
	b.ephemeral(releaseChannel, alice, "In an emergency: `/release propose prod --break-glass <reason>`.")

	b.command(alice, releaseChannel, "propose --break-glass login <is> down")
	msg := b.releaseMessage()
	text := blocksText(t, msg.Blocks)
	if !strings.Contains(text, ":rotating_light: *EMERGENCY: break-glass release* by <@"+alice+">: login &lt;is&gt; down") ||
		!strings.Contains(msg.Text, "EMERGENCY break-glass release") {
		t.Errorf("not loud:\n%s\n%s", msg.Text, text)
	}
	b.threadHas(msg.TS, "<@"+carol+">: this break-glass release needs your review after the fact")
	b.threadHas(msg.TS, "Release succeeded")
	if n := len(b.gh.RequestsTo(githubtest.RouteDispatch)); n != 1 {
		t.Errorf("%d dispatches", n)
	}
	data, err := b.store().Manifest(context.Background(), releaseID(msg))
	if err != nil {
		t.Fatal(err)
	}
	m, err := release.VerifyManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	if m.BreakGlass == nil || m.BreakGlass.Reason != "login <is> down" || m.BreakGlass.RequestedBy != alice ||
		m.BreakGlass.ReviewDue.Sub(m.CreatedAt).Hours() != 12 {
		t.Errorf("manifest break glass %+v", m.BreakGlass)
	}
}

// TestBreakGlassWithAnApprovalIsNotHeldByTheFreeze: required 1, approved
// during a freeze, it is dispatched at once instead of waiting.
func TestBreakGlassWithAnApprovalIsNotHeldByTheFreeze(t *testing.T) {
	b := startShip(t, "2", githubtest.Workflow{}, shipSetup{}, withBreakGlass(t, `allowed: ["@release-managers"]`))
	b.command(carol, releaseChannel, "freeze 4h change freeze")
	b.channelHas("froze pipeline `prod`")
	b.command(bob, releaseChannel, "propose --break-glass CVE-2026-0001")
	msg := b.releaseMessage()
	if text := blocksText(t, msg.Blocks); !strings.Contains(text, "1 approval from <@"+carol+"> (break-glass)") {
		t.Errorf("rule:\n%s", text)
	}
	b.click(carol, msg.TS, "release_approve")
	b.threadHas(msg.TS, "Release succeeded")
	if n := b.threadCount(msg.TS, "waits"); n != 0 {
		t.Errorf("a break-glass release waited for the freeze")
	}
}

// TestBreakGlassReview: once shipped, the release offers Reviewed and Not
// OK to the normal approvers; its proposer and others may not review; Not
// OK needs a reason (the dialog stays open without one); the first review
// counts, is told in the thread, and goes to Kosli as the decision again:
// pending review (non-compliant) when it shipped, still non-compliant once
// flagged.
func TestBreakGlassReview(t *testing.T) {
	t.Parallel()
	twoApprovers := func(o *serveOptions) {
		yaml := strings.Replace(strings.Replace(shipConfig, "TIMEOUT", "2h", 1), `approvers: ["U0CAROL0001"]`, `approvers: ["U0CAROL0001", "U0BOB000001"]`, 1) +
			"    break_glass: { allowed: [\"U0ALICE0001\", \"U0CAROL0001\"], required: 0 }\n"
		cfg, err := config.Parse("ship.yaml", []byte(yaml))
		if err != nil {
			t.Fatal(err)
		}
		o.Config = cfg
	}
	b := startShip(t, "2", githubtest.Workflow{}, shipSetup{}, twoApprovers)
	b.command(carol, releaseChannel, "propose --break-glass payments are down")
	msg := b.releaseMessage()
	b.threadHas(msg.TS, "Release succeeded")
	b.waitParent(msg.TS, "the review buttons", "Review by an approver due")
	withButtons, _ := b.slack.Message(releaseChannel, msg.TS)
	if !strings.Contains(string(withButtons.Blocks), `"action_id":"release_review_flag"`) {
		t.Fatalf("no review buttons: %s", withButtons.Blocks)
	}
	if !eventually(func() bool { return breakGlassDecisions(b, "pending") == 2 }) {
		t.Fatalf("the decisions are not recorded as pending review: %+v", b.kosli.Attestations())
	}
	// The review is owed across a restart: it is in Redis, not in the process.
	b.restart()
	b.command(bob, releaseChannel, "status "+releaseID(msg))
	b.ephemeral(releaseChannel, bob, ":mag: Review by an approver due")
	send := func(payload []byte) string {
		t.Helper()
		id, err := b.slack.SendEnvelope("interactive", payload)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	// Alice may break glass but is no approver of prod.
	send(b.dialog(alice, msg.TS, "release_review_ok", "release_review_reason")(""))
	b.ephemeral(releaseChannel, alice, "Only the approvers of pipeline `prod`")
	// Carol proposed it: another approver must review it.
	send(b.dialog(carol, msg.TS, "release_review_ok", "release_review_reason")("fine"))
	b.ephemeral(releaseChannel, carol, "You proposed this break-glass release")
	flag := b.dialog(bob, msg.TS, "release_review_flag", "release_review_reason")
	ack, err := b.slack.WaitAck(t.Context(), send(flag(" ")))
	if err != nil || !strings.Contains(string(ack.Payload), `"response_action":"errors"`) {
		t.Fatalf("ack of Not OK without a reason = %s, %v", ack.Payload, err)
	}
	r, err := b.store().Get(context.Background(), releaseID(msg))
	if err != nil || r.BreakGlass.Review != nil {
		t.Fatalf("a refused review was recorded: %+v, %v", r.BreakGlass, err)
	}

	send(flag("no incident <ticket>"))
	b.threadHas(msg.TS, ":x: *Flagged Not OK* by <@"+bob+">")
	b.threadHas(msg.TS, "no incident &lt;ticket&gt;")
	b.waitParent(msg.TS, "the parent to show the review", "Flagged Not OK")
	if strings.Contains(string(b.parentBlocks(msg.TS)), "release_review_ok") {
		t.Error("review buttons still on the reviewed release")
	}
	// A click on an old copy of the buttons is told the review is done.
	late := b.dialogOf(carol, "release_review_reason", func() {
		id, err := b.slack.BlockAction(b.button(carol, withButtons, "release_review_ok"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.slack.WaitAck(t.Context(), id); err != nil {
			t.Fatal(err)
		}
	})
	send(late(""))
	b.ephemeral(releaseChannel, carol, "was already reviewed by <@"+bob+">")
	if n := b.threadCount(msg.TS, "Flagged Not OK"); n != 1 {
		t.Errorf("the review was told %d times", n)
	}
	if !eventually(func() bool { return breakGlassDecisions(b, "not_ok") == 2 }) {
		t.Fatalf("the review is not recorded in Kosli: %+v", b.kosli.Attestations())
	}
}

// breakGlassDecisions counts the artifacts whose latest decision in Kosli
// records the break-glass review as want ("pending", "ok", "not_ok"), with
// the matching compliance: only a review OK is compliant; until then the
// decision is pending review, non-compliant.
func breakGlassDecisions(b *shipBot, want string) int {
	latest := map[string]kositest.Attestation{}
	for _, a := range b.kosli.Attestations() {
		if a.Kind == "system" {
			latest[a.Name] = a
		}
	}
	n := 0
	for _, a := range latest {
		ud, _ := a.Payload["user_data"].(map[string]any)
		bg, _ := ud["break_glass"].(map[string]any)
		if bg == nil || bg["review"] != want || a.Compliant == nil || *a.Compliant != (want == "ok") {
			continue
		}
		n++
	}
	return n
}

// TestBreakGlassReviewOverdue: past review_within (by the fake clock) an
// unreviewed break-glass release is counted once in the metric (at zero
// before), told once in its thread, and shown in /release list and every
// drift report until it is reviewed.
func TestBreakGlassReviewOverdue(t *testing.T) {
	t.Parallel()
	sweep := func(o *serveOptions) { o.SweepEvery = 100 * time.Millisecond }
	b := startShip(t, "2", githubtest.Workflow{}, shipSetup{}, sweep, replica("r1"),
		withBreakGlass(t, `allowed: ["U0ALICE0001"], required: 0, review_within: 12h`))
	second := b.start(sweep, replica("r2"))
	const series = `releasebot_break_glass_reviews_overdue_total{pipeline="prod"}`
	if v, ok := scrape(t, b.bot)[series]; !ok || v != 0 {
		t.Fatalf("%s = %v (present %v), want 0 from the start", series, v, ok)
	}
	b.command(alice, releaseChannel, "propose --break-glass payments are down")
	msg := b.releaseMessage()
	b.threadHas(msg.TS, "Release succeeded")
	b.command(alice, releaseChannel, "list")
	if l := b.ephemeral(releaseChannel, alice, "Recent releases"); strings.Contains(l.Text, "overdue") {
		t.Errorf("overdue before its time: %s", l.Text)
	}
	b.clock.Advance(12*time.Hour + time.Minute)
	b.threadHas(msg.TS, "*Break-glass review overdue*: `"+releaseID(msg)+"`")
	b.command(carol, releaseChannel, "list")
	b.ephemeral(releaseChannel, carol, "*Break-glass review overdue*")
	b.command(carol, releaseChannel, "drift")
	drift := b.channelHas("Nothing waits to be released") // it all shipped
	if !strings.Contains(blocksText(t, drift.Blocks), "*Break-glass review overdue*: `"+releaseID(msg)+"`") {
		t.Errorf("drift report without the overdue review:\n%s", blocksText(t, drift.Blocks))
	}
	// Both replicas swept every 100ms all along: it is counted and told once.
	if n := strings.Count(b.logs.String(), `"message":"break-glass review overdue"`); n != 1 {
		t.Errorf("counted %d times", n)
	}
	if n := b.threadCount(msg.TS, "review overdue"); n != 1 {
		t.Errorf("told %d times", n)
	}
	if sum := scrape(t, b.bot)[series] + scrapeAddr(t, second.ops)[series]; sum != 1 {
		t.Errorf("%s summed over both replicas = %v, want 1", series, sum)
	}
}
