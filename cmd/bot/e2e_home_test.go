package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/release-bot/release-bot/internal/config"
	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/slackbot/slacktest"
)

// Issue 17 §1: the App Home tab shows each person what waits for their
// decision, what they proposed and their pipelines' recent releases; its
// buttons are the release message's.

// homeBlock is the part of a Home view's block the tests read.
type homeBlock struct {
	Type     string `json:"type"`
	BlockID  string `json:"block_id"`
	Elements []struct {
		ActionID string `json:"action_id"`
		Value    string `json:"value"`
	} `json:"elements"`
}

// homeOf is the user's Home view as last published: its blocks, and the
// text of all of them.
func (b *bot) homeOf(user string) ([]homeBlock, string) {
	b.t.Helper()
	v, ok := b.slack.Home(user)
	if !ok {
		return nil, ""
	}
	return b.parseHome(v)
}

// parseHome reads a Home view's blocks and their text.
func (b *bot) parseHome(v slacktest.View) ([]homeBlock, string) {
	var def struct {
		Type   string          `json:"type"`
		Blocks json.RawMessage `json:"blocks"`
	}
	if err := json.Unmarshal(v.View, &def); err != nil {
		b.t.Fatal(err)
	}
	var blocks []homeBlock
	if err := json.Unmarshal(def.Blocks, &blocks); err != nil {
		b.t.Fatal(err)
	}
	return blocks, blocksText(b.t.(*testing.T), def.Blocks)
}

// openHome is user opening the Home tab; it waits for the ack.
func (b *bot) openHome(user string) {
	b.t.Helper()
	b.acked(b.slack.OpenHome(user))
}

// acked waits for the ack of an envelope the fake just sent.
func (b *bot) acked(envelopeID string, err error) {
	b.t.Helper()
	if err != nil {
		b.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := b.slack.WaitAck(ctx, envelopeID); err != nil {
		b.t.Fatal(err)
	}
}

// homeHas waits for the user's Home to hold every one of want, and for
// none of without, and returns it.
func (b *bot) homeHas(user string, want []string, without ...string) ([]homeBlock, string) {
	b.t.Helper()
	var blocks []homeBlock
	var text string
	b.waitFor(fmt.Sprintf("%s's Home with %q and without %q", user, want, without), func(st *slacktest.State) bool {
		v, ok := st.Home(user) // under the fake's lock: not b.slack.Home
		if !ok {
			return false
		}
		blocks, text = b.parseHome(v)
		for _, w := range want {
			if !strings.Contains(text, w) {
				return false
			}
		}
		for _, w := range without {
			if strings.Contains(text, w) {
				return false
			}
		}
		return true
	})
	return blocks, text
}

// homeButtons are the (action, value) of every button on a Home, by block.
func homeButtons(blocks []homeBlock) map[string][2]string {
	out := map[string][2]string{}
	for _, bl := range blocks {
		for _, el := range bl.Elements {
			if el.ActionID == "" {
				continue // a context block's text
			}
			out[bl.BlockID+" "+el.ActionID] = [2]string{el.ActionID, el.Value}
		}
	}
	return out
}

// homeClick is user clicking action on the block of their Home that names
// release id, with value (the button's own when "").
func (b *bot) homeClick(user, id, action, value string) {
	b.t.Helper()
	blocks, _ := b.homeOf(user)
	blockID := ""
	for _, bl := range blocks {
		if bl.Type == "actions" && strings.HasPrefix(bl.BlockID, "home:release:"+id+":") {
			blockID = bl.BlockID
		}
	}
	if blockID == "" {
		b.t.Fatalf("no buttons for %s on %s's Home: %+v", id, user, blocks)
	}
	b.acked(b.slack.HomeAction(slacktest.HomeAction{UserID: user, ActionID: action, BlockID: blockID, Value: value}))
}

// TestHomeShowsWhatWaitsForMeWhatIProposedAndRecent: bob (an approver
// through @release-managers) finds alice's release waiting for him, with
// its pipeline, services, proposer, age, a link to its message and the
// message's own buttons (same action ids and value); alice, who proposed
// it and may not approve it, finds it under "Proposed by you" without
// buttons; both see it among their pipeline's recent releases; dave, a
// guest who approves nothing, sees none of it. Opening the Home is
// remembered in Redis.
func TestHomeShowsWhatWaitsForMeWhatIProposedAndRecent(t *testing.T) {
	t.Parallel()
	b := startBot(t, "2")
	b.command(alice, releaseChannel, "propose")
	msg := b.releaseMessage()
	id := releaseID(msg)
	link := b.slack.Permalink(releaseChannel, msg.TS)

	b.openHome(bob)
	blocks, text := b.homeHas(bob, []string{"Waiting for your decision (1)", "<" + link + "|" + id + ">", "`prod` · aws-beta → aws-prod",
		"`nginx`", "`web`", "Proposed by <@" + alice + ">", "ago · Waiting for approval (0 of 2)", "Proposed by you (0 open)",
		"Recent releases of your pipelines", "`" + id + "` · waiting for approval (0 of 2)"})
	channelValue := b.button(bob, msg, "release_approve").Value
	actions := map[string]string{}
	for k, v := range homeButtons(blocks) {
		if strings.HasPrefix(k, "home:release:"+id+":") {
			actions[v[0]] = v[1]
		}
	}
	if len(actions) != 2 || actions["release_approve"] != channelValue || actions["release_reject"] != channelValue {
		t.Errorf("Home buttons %v, want Approve and Reject with the message's value %q:\n%s", actions, channelValue, text)
	}

	b.openHome(alice)
	aliceBlocks, _ := b.homeHas(alice, []string{"Waiting for your decision (0)", "Nothing waits for your decision.", "Proposed by you (1 open)",
		"<" + link + "|" + id + ">", "`" + id + "` · waiting for approval"})
	if n := len(homeButtons(aliceBlocks)); n != 0 {
		t.Errorf("alice's Home has %d buttons for her own release", n)
	}

	b.openHome(dave)
	b.homeHas(dave, []string{"Nothing waits for your decision.", "You have no open release.", "No releases yet."}, id)

	viewers, err := b.store().HomeViewers(t.Context(), time.Time{}, 10)
	if err != nil || len(viewers) != 3 {
		t.Errorf("Home viewers in Redis = %v, %v", viewers, err)
	}
}

// TestHomeApproveCountsExactlyAsInTheChannel: approvals clicked on the Home
// are the channel's: the thread says each, the release message is
// rewritten, the second completes the count and the release is decided
// with the same evidence in Kosli as TestReleaseProposeApproveDispatch's
// channel clicks. Each clicker's Home says their approval counted, and the
// Homes of those who opened theirs follow the release as it changes.
func TestHomeApproveCountsExactlyAsInTheChannel(t *testing.T) {
	t.Parallel()
	b := startBot(t, "2")
	b.command(alice, releaseChannel, "propose")
	msg := b.releaseMessage()
	id := releaseID(msg)
	for _, u := range []string{alice, bob, carol} {
		b.openHome(u)
	}
	b.homeHas(bob, []string{"Waiting for your decision (1)"})

	b.homeClick(bob, id, "release_approve", "")
	b.threadHas(msg.TS, "<@"+bob+"> approved (1 of 2)")
	b.waitParent(msg.TS, "the message to count bob", "Waiting for approval (1 of 2)")
	b.homeHas(bob, []string{"Your approval of `" + id + "` is counted", "Waiting for your decision (0)"})
	// carol's and alice's Homes were refreshed by the change: they opened theirs.
	b.homeHas(carol, []string{"Waiting for your decision (1)", "Waiting for approval (1 of 2)"})
	b.homeHas(alice, []string{"Proposed by you (1 open)", "Waiting for approval (1 of 2)"})

	b.homeClick(carol, id, "release_approve", "")
	b.threadHas(msg.TS, "<@"+carol+"> approved (2 of 2). The release is approved.")
	b.homeHas(carol, []string{"Your approval of `" + id + "` is counted", "Waiting for your decision (0)"})
	r, err := b.store().Get(t.Context(), id)
	if err != nil || r.State != release.Dispatching || len(r.Approvals) != 2 {
		t.Fatalf("release = %+v, %v", r, err)
	}
	if strings.Contains(string(b.parentBlocks(msg.TS)), "release_approve") {
		t.Error("buttons still on the decided release's message")
	}
	if !eventually(func() bool { return decisions(b) == 2 }) {
		t.Fatal("waiting for the decisions in Kosli")
	}
	var names []string
	for _, a := range b.kosli.Attestations() {
		names = append(names, a.Name)
	}
	slices.Sort(names)
	if want := []string{"nginx.decision", "nginx.promotion", "release-manifest", "web.decision", "web.promotion"}; !slices.Equal(names, want) {
		t.Errorf("attestations %v, want %v (as for channel clicks)", names, want)
	}
	// The proposer's Home follows it: still open, now being dispatched.
	b.homeHas(alice, []string{"Proposed by you (1 open)", "Approved: starting the promotion workflow", "`" + id + "` · dispatching"})
}

// twoPipelines is e2eConfig with a second pipeline, stage, in otherChannel.
func twoPipelines(t *testing.T) botOption {
	t.Helper()
	yaml := e2eConfig + `  - name: stage
    from: aws-beta
    to: aws-prod
    channel: C0RANDOM001
    approvals: { required: 1, approvers: ["@release-managers", "U0CAROL0001"], expire_after: 24h }
    evidence: { control: release-approved }
`
	cfg, err := config.Parse("bot.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return func(o *serveOptions) { o.Config = cfg }
}

// TestHomeRefusesWhatTheChannelRefuses: a Home click is checked as a
// channel click and answered on the Home: the proposer's own release
// (a forged value on her Home's button) is refused; a button whose release
// was cancelled meanwhile says so and changes nothing. A cancellation
// republishes the Homes of those who can act, without its buttons.
func TestHomeRefusesWhatTheChannelRefuses(t *testing.T) {
	t.Parallel()
	b := startBot(t, "2", twoPipelines(t))
	b.command(alice, releaseChannel, "propose")
	prod := b.releaseMessage()
	prodID := releaseID(prod)
	b.command(bob, otherChannel, "propose")
	var stageID string
	b.waitFor("the stage release", func(st *slacktest.State) bool {
		for _, m := range st.Messages(otherChannel) {
			if strings.HasPrefix(m.Text, "Release stage-") && m.ThreadTS == "" {
				stageID = releaseID(m)
				return true
			}
		}
		return false
	})
	prodValue := b.button(carol, prod, "release_approve").Value

	// alice's Home: bob's stage release waits for her; her own prod does not.
	b.openHome(alice)
	b.homeHas(alice, []string{"Waiting for your decision (1)", stageID, "Proposed by you (1 open)"})
	b.homeClick(alice, stageID, "release_approve", prodValue)
	b.homeHas(alice, []string{"You proposed release " + prodID + ", so you cannot approve it"})
	if r, _ := b.store().Get(t.Context(), prodID); len(r.Approvals) != 0 {
		t.Errorf("alice's refused click counted: %+v", r.Approvals)
	}

	// carol's Home shows both; prod is cancelled and her Home follows.
	b.openHome(carol)
	b.homeHas(carol, []string{"Waiting for your decision (2)", prodID, stageID})
	b.command(alice, releaseChannel, "cancel "+prodID+" wrong services picked")
	b.threadHas(prod.TS, "cancelled the release")
	blocks, _ := b.homeHas(carol, []string{"Waiting for your decision (1)", "`" + prodID + "` · cancelled"})
	for k := range homeButtons(blocks) {
		if strings.Contains(k, prodID) {
			t.Errorf("carol's Home still has %s", k)
		}
	}
	// Her click on the old prod button (its value, on the stage button's place).
	b.homeClick(carol, stageID, "release_approve", prodValue)
	b.homeHas(carol, []string{"Release " + prodID + " is now cancelled; this button no longer does anything."})
	if r, _ := b.store().Get(t.Context(), prodID); r.State != release.Cancelled || len(r.Approvals) != 0 {
		t.Errorf("prod after a stale click: %s, %+v", r.State, r.Approvals)
	}
	// A forged value that is no release button at all.
	b.homeClick(carol, stageID, "release_approve", "not a release")
	b.homeHas(carol, []string{"That button is not one of mine any more."})
}

// TestHomeWith50PendingReleasesStaysWithinSlacksLimits: carol may approve
// in each of 50 pipelines, each with a release waiting: her Home is
// published (the fake refuses more than 100 blocks, as Slack does), the
// oldest waiting releases come first with their buttons, and the rest are
// counted in an "and N more" line; "Proposed by you" and the recent
// releases still show.
func TestHomeWith50PendingReleasesStaysWithinSlacksLimits(t *testing.T) {
	t.Parallel()
	var yaml strings.Builder
	yaml.WriteString("pipelines:\n")
	for i := range 50 {
		fmt.Fprintf(&yaml, "  - name: p%02d\n    from: aws-beta\n    to: aws-prod\n    channel: C0RELEASE01\n"+
			"    approvals: { required: 1, approvers: [\"U0CAROL0001\"], expire_after: 24h }\n    evidence: { control: release-approved }\n", i)
	}
	cfg, err := config.Parse("bot.yaml", []byte(yaml.String()))
	if err != nil {
		t.Fatal(err)
	}
	b := startBot(t, "", func(o *serveOptions) { o.Config = cfg })
	st := b.store()
	created := b.clock.Now().Add(-time.Hour)
	for i := range 50 {
		p := fmt.Sprintf("p%02d", i)
		r := &release.Release{
			ID: p + "-2026-12-04-1", Pipeline: p, ManifestDigest: "sha256:" + strings.Repeat("ab", 32), Proposer: alice,
			CreatedAt: created.Add(time.Duration(i) * time.Minute), ExpiresAt: created.Add(24 * time.Hour), Required: 1,
			Channel: releaseChannel, MessageTS: fmt.Sprintf("1764800000.%06d", i),
		}
		if err := st.Create(t.Context(), r, []byte(`{"schemaVersion":"1","artifacts":[{"service":"web"}]}`), nil); err != nil {
			t.Fatal(err)
		}
	}
	b.openHome(carol)
	blocks, text := b.homeHas(carol, []string{"Waiting for your decision (50)", "more waiting for your decision", "Proposed by you (0 open)",
		"Recent releases of your pipelines"})
	if len(blocks) > 100 {
		t.Fatalf("%d blocks", len(blocks))
	}
	shown := 0
	for _, bl := range blocks {
		if bl.Type == "actions" {
			shown++
		}
	}
	if !strings.Contains(text, fmt.Sprintf("…and %d more waiting", 50-shown)) || shown < 40 {
		t.Errorf("%d releases with buttons, and the rest not counted:\n%s", shown, text)
	}
	if !strings.Contains(text, "p00-2026-12-04-1") || strings.Contains(text, "`p49-2026-12-04-1` · `p49`") {
		t.Errorf("the oldest should be first and the newest cut:\n%s", text)
	}
	// The recent list is the newest 10 of carol's pipelines.
	if !strings.Contains(text, "`p49-2026-12-04-1` · waiting") || strings.Contains(text, "`p39-2026-12-04-1` · waiting") {
		t.Errorf("recent releases:\n%s", text)
	}
}

// TestHomeRejectAsksWhyAndAnswersOnTheHome: Reject on the Home opens the
// channel's reason dialog; its submission rejects the release as in the
// channel (the thread says so with the reason, Redis holds it) and the
// answer is on the rejecter's Home, since they may not be in the channel;
// the same dialog submitted again changes nothing and says why, there too.
func TestHomeRejectAsksWhyAndAnswersOnTheHome(t *testing.T) {
	t.Parallel()
	b := startBot(t, "2")
	b.command(alice, releaseChannel, "propose")
	msg := b.releaseMessage()
	id := releaseID(msg)
	b.openHome(carol)
	b.homeHas(carol, []string{"Waiting for your decision (1)"})
	b.homeClick(carol, id, "release_reject", "")
	v := b.lastView("release_reject_reason", 1)
	if err := b.submitReason(carol, v, "web is not ready"); err != nil {
		t.Fatal(err)
	}
	b.threadHas(msg.TS, "<@"+carol+"> rejected the release: web is not ready")
	b.homeHas(carol, []string{":no_entry: You rejected `" + id + "`", "Waiting for your decision (0)", "`" + id + "` · rejected"})
	if r, err := b.store().Get(t.Context(), id); err != nil || r.State != release.Rejected || r.Rejection == nil || r.Rejection.Reason != "web is not ready" {
		t.Fatalf("release = %+v, %v", r, err)
	}
	if err := b.submitReason(carol, v, "web is still not ready"); err != nil {
		t.Fatal(err)
	}
	b.homeHas(carol, []string{"is already rejected", "your reason was not recorded"})
	if n := b.threadCount(msg.TS, "rejected the release"); n != 1 {
		t.Errorf("%d rejections in the thread", n)
	}
	if eph := b.slack.Ephemerals(releaseChannel, carol); len(eph) != 0 {
		t.Errorf("the Home's dialog was answered in the channel: %+v", eph)
	}
}

// TestHomeShowsANewProposalWithoutReopening: bob opened his Home before
// anything was proposed; alice's proposal appears on it, with its buttons,
// without his opening it again; dave, a guest who opened his too, is not
// republished (he can act on nothing), and his Home stays as it was.
func TestHomeShowsANewProposalWithoutReopening(t *testing.T) {
	t.Parallel()
	b := startBot(t, "2")
	b.openHome(bob)
	b.openHome(dave)
	b.homeHas(bob, []string{"Nothing waits for your decision."})
	_, before := b.homeHas(dave, []string{"No releases yet."})
	b.command(alice, releaseChannel, "propose")
	id := releaseID(b.releaseMessage())
	blocks, _ := b.homeHas(bob, []string{"Waiting for your decision (1)", id})
	if len(homeButtons(blocks)) != 2 {
		t.Errorf("bob's Home buttons: %v", homeButtons(blocks))
	}
	b.waitLogs("the Homes of the proposal refreshed", func(logs string) bool {
		return strings.Contains(logs, `"release_id":"`+id+`"`) && strings.Contains(logs, `"refreshed":1`)
	})
	if _, after := b.homeOf(dave); after != before {
		t.Errorf("dave's Home was republished:\n%s", after)
	}
}
