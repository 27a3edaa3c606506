package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/release-bot/release-bot/internal/kosli/kositest"
	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/slackbot/slacktest"
	"github.com/release-bot/release-bot/internal/store"
)

// releaseID is the id in a release message's text, "Release <id> (…".
func releaseID(msg slacktest.Message) string {
	return msg.Text[len("Release "):strings.Index(msg.Text, " (")]
}

// setMessageTS records ts as the release's parent message in Redis, as
// propose does after posting it; "" puts the release back in the moment
// between posting the message and recording it.
func (b *bot) setMessageTS(id, ts string) {
	b.t.Helper()
	if _, err := b.store().Amend(context.Background(), id, 0, func(r *release.Release) { r.MessageTS = ts }); err != nil {
		b.t.Fatal(err)
	}
}

// releaseMessage waits for the release's parent message (the one with an id header).
func (b *bot) releaseMessage() slacktest.Message {
	b.t.Helper()
	return b.parentStarting("Release prod-")
}

// parentStarting waits for the first top-level message whose text starts with prefix.
func (b *bot) parentStarting(prefix string) slacktest.Message {
	b.t.Helper()
	var msg slacktest.Message
	b.waitFor("a message starting "+prefix, func(st *slacktest.State) bool {
		for _, m := range st.Messages(releaseChannel) {
			if !m.Ephemeral && m.ThreadTS == "" && strings.HasPrefix(m.Text, prefix) {
				msg = m
				return true
			}
		}
		return false
	})
	return msg
}

// button is a click by user on the element actionID of msg as it was first
// posted: block and value taken from that copy, so the click still carries
// them once the message has been updated without its buttons (a stale button).
func (b *bot) button(user string, msg slacktest.Message, actionID string) slacktest.BlockAction {
	b.t.Helper()
	var blocks []struct {
		BlockID  string `json:"block_id"`
		Elements []struct {
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
		} `json:"elements"`
	}
	if err := json.Unmarshal(msg.Blocks, &blocks); err != nil {
		b.t.Fatal(err)
	}
	for _, bl := range blocks {
		for _, el := range bl.Elements {
			if el.ActionID == actionID {
				return slacktest.BlockAction{UserID: user, ChannelID: msg.Channel, MessageTS: msg.TS,
					ActionID: actionID, BlockID: bl.BlockID, Value: el.Value}
			}
		}
	}
	b.t.Fatalf("no %q element on message %s: %s", actionID, msg.TS, msg.Blocks)
	return slacktest.BlockAction{}
}

// waitReleases waits until the channel shows n release messages.
func (b *bot) waitReleases(n int) {
	b.t.Helper()
	b.waitFor(fmt.Sprintf("%d release messages", n), func(st *slacktest.State) bool {
		count := 0
		for _, m := range st.Messages(releaseChannel) {
			if strings.HasPrefix(m.Text, "Release prod-") && m.ThreadTS == "" {
				count++
			}
		}
		return count == n
	})
}

// threadHas waits for a thread reply under ts containing want.
func (b *bot) threadHas(ts, want string) {
	b.t.Helper()
	b.waitFor("a thread reply containing "+want, func(st *slacktest.State) bool {
		for _, m := range st.Thread(releaseChannel, ts) {
			if strings.Contains(m.Text, want) {
				return true
			}
		}
		return false
	})
}

func (b *bot) threadCount(ts, want string) int {
	n := 0
	b.waitFor("", func(st *slacktest.State) bool {
		for _, m := range st.Thread(releaseChannel, ts) {
			if strings.Contains(m.Text, want) {
				n++
			}
		}
		return true
	})
	return n
}

func (b *bot) click(user, ts, action string) string {
	b.t.Helper()
	id, err := b.slack.BlockAction(slacktest.BlockAction{UserID: user, ChannelID: releaseChannel, MessageTS: ts, ActionID: action})
	if err != nil {
		b.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := b.slack.WaitAck(ctx, id); err != nil {
		b.t.Fatal(err)
	}
	return id
}

// parentText is the current text of the release's parent message's blocks.
func (b *bot) parentText(ts string) string {
	return blocksText(b.t.(*testing.T), b.parentBlocks(ts))
}

// waitParent waits for the release's parent message to contain want.
func (b *bot) waitParent(ts, what, want string) {
	b.t.Helper()
	b.waitFor(what, func(st *slacktest.State) bool {
		m, _ := st.Message(releaseChannel, ts)
		return strings.Contains(blocksText(b.t.(*testing.T), m.Blocks), want)
	})
}

// readyz is the status /readyz answers the first instance with.
func (b *bot) readyz() int {
	b.t.Helper()
	resp, err := http.Get("http://" + b.ops + "/readyz")
	if err != nil {
		b.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (b *bot) parentBlocks(ts string) []byte {
	m, _ := b.slack.Message(releaseChannel, ts)
	return m.Blocks
}

func (b *bot) store() *store.Store { return store.New(b.redis.Client(b.t), store.Options{}) }

func TestReleaseProposeApproveDispatch(t *testing.T) {
	t.Parallel()
	b := startBot(t, "2")
	b.command(alice, releaseChannel, "propose")
	msg := b.releaseMessage()
	text := blocksText(t, msg.Blocks)
	for _, want := range []string{"Waiting for approval (0 of 2)", "proposed by <@" + alice + ">", "*nginx*", "*web*",
		":white_check_mark: aws-prod", "SDLC gate passed", "Kosli trail prod-", "2 approvals from <!subteam^S0RELMGRS01|@release-managers> or <@" + carol + ">",
		"the proposer cannot approve"} {
		if !strings.Contains(text, want) {
			t.Errorf("release message lacks %q:\n%s", want, text)
		}
	}
	if !strings.Contains(string(msg.Blocks), `"action_id":"release_approve"`) || !strings.Contains(string(msg.Blocks), `"action_id":"release_reject"`) {
		t.Fatalf("no buttons: %s", msg.Blocks)
	}
	b.threadHas(msg.TS, "Proposed by <@"+alice+">")

	// The manifest in Redis is sealed and valid against the schema.
	id := releaseID(msg)
	st := b.store()
	data, err := st.Manifest(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	m, err := release.VerifyManifest(data)
	if err != nil {
		t.Fatalf("stored manifest: %v", err)
	}
	if len(m.Artifacts) != 2 || m.Proposer.SlackUserID != alice || m.Evidence.KosliTrail != id {
		t.Errorf("manifest %+v", m)
	}

	b.click(alice, msg.TS, "release_approve")
	b.ephemeral(releaseChannel, alice, "so you cannot approve it")
	b.click(dave, msg.TS, "release_approve")
	b.ephemeral(releaseChannel, dave, "Guests cannot approve")
	b.click(bob, msg.TS, "release_approve")
	b.threadHas(msg.TS, "<@"+bob+"> approved (1 of 2)")
	b.click(bob, msg.TS, "release_approve")
	b.ephemeral(releaseChannel, bob, "already approved")
	b.click(carol, msg.TS, "release_approve")
	b.threadHas(msg.TS, "The release is approved")
	b.threadHas(msg.TS, "No promotion workflow is configured")
	r, err := st.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if r.State != release.Dispatching || len(r.Approvals) != 2 {
		t.Fatalf("release %s with %d approvals", r.State, len(r.Approvals))
	}
	if strings.Contains(b.parentText(msg.TS), "release_approve") {
		t.Error("buttons still on the decided release")
	}
	// The evidence: the manifest, each artifact's promotion and decision.
	if !eventually(func() bool { return decisions(b) == 2 }) {
		t.Fatalf("waiting for %s", "the decisions in Kosli")
	}
	var names []string
	for _, a := range b.kosli.Attestations() {
		names = append(names, a.Name)
	}
	slices.Sort(names)
	if want := []string{"nginx.decision", "nginx.promotion", "release-manifest", "web.decision", "web.promotion"}; !slices.Equal(names, want) {
		t.Errorf("attestations %v, want %v", names, want)
	}

	// A second proposal while this one is open links to it.
	b.command(bob, releaseChannel, "propose")
	b.ephemeral(releaseChannel, bob, "already has an open release: `"+id+"`")
	b.command(bob, releaseChannel, "status")
	b.ephemeral(releaseChannel, bob, "Release `"+id+"`")
}

func TestReleaseRefusalsAreAnswersNotReleases(t *testing.T) {
	t.Parallel()
	b := startBot(t, "blue-green-aws-beta")
	b.command(alice, releaseChannel, "propose")
	b.ephemeral(releaseChannel, alice, "No release: the plan is blocked")
	b2 := startBot(t, "0")
	b2.command(alice, releaseChannel, "propose")
	b2.ephemeral(releaseChannel, alice, "Nothing to release")
	b3 := startBot(t, "2")
	b3.command(alice, releaseChannel, "propose prod saver")
	b3.ephemeral(releaseChannel, alice, "Nothing waits to be promoted for saver")
}

func TestReleaseGateBlocksApproval(t *testing.T) {
	t.Parallel()
	b := startBot(t, "2")
	const web = "337fa91d02fa59729aca2941bbfebf999d1c5ae74b1492a4c99a33a925c7f052"
	b.kosli.SetVerdict(web, "aws-prod", kositest.Verdict{Compliant: false, Policies: []kositest.PolicyResult{{Name: "prod-policy", FailingRules: []string{"pull-request"}}}})
	b.command(alice, releaseChannel, "propose")
	msg := b.releaseMessage()
	text := blocksText(t, msg.Blocks)
	if !strings.Contains(text, "SDLC gate failed") || !strings.Contains(text, "prod-policy") {
		t.Fatalf("gate not shown:\n%s", text)
	}
	b.click(bob, msg.TS, "release_approve")
	b.ephemeral(releaseChannel, bob, "failed the compliance gate")
}

// rejectDialog clicks Reject as user and returns the dialog's submission
// with a reason, as Slack sends it (a view_submission).
func (b *bot) rejectDialog(user, ts string) func(reason string) []byte {
	b.t.Helper()
	return b.dialog(user, ts, "release_reject", "release_reject_reason")
}

// dialog clicks the button action as user, waits for the dialog it opens,
// and returns that dialog's submission with a reason, as Slack sends it.
func (b *bot) dialog(user, ts, action, callback string) func(reason string) []byte {
	b.t.Helper()
	return b.dialogOf(user, callback, func() { b.click(user, ts, action) })
}

// dialogOf is dialog for a dialog that click opens.
func (b *bot) dialogOf(user, callback string, click func()) func(reason string) []byte {
	t := b.t
	t.Helper()
	before := len(b.slack.Views())
	click()
	var view slacktest.View
	b.waitFor("the dialog of "+callback, func(st *slacktest.State) bool {
		if v := st.Views(); len(v) > before {
			view = v[len(v)-1]
			return true
		}
		return false
	})
	var sent struct {
		PrivateMetadata string `json:"private_metadata"`
	}
	if err := json.Unmarshal(view.View, &sent); err != nil {
		t.Fatal(err)
	}
	return func(reason string) []byte {
		payload, _ := json.Marshal(map[string]any{
			"type": "view_submission", "team": map[string]any{"id": "T0SLACKTEST"}, "user": map[string]any{"id": user, "team_id": "T0SLACKTEST"},
			"view": map[string]any{"id": view.ID, "callback_id": callback, "private_metadata": sent.PrivateMetadata, "hash": "h1",
				"state": map[string]any{"values": map[string]any{"reason": map[string]any{"reason": map[string]any{"type": "plain_text_input", "value": reason}}}}},
		})
		return payload
	}
}

func TestReleaseRejectWithReason(t *testing.T) {
	t.Parallel()
	b := startBot(t, "2")
	b.command(alice, releaseChannel, "propose")
	msg := b.releaseMessage()
	submission := b.rejectDialog(bob, msg.TS)
	// A blank reason keeps the dialog open: the ack answers with
	// response_action "errors" on the reason block (Slack's view_submission
	// response, slack-go's ViewSubmissionResponse), and nothing changes.
	blank, err := b.slack.SendEnvelope("interactive", submission("  \n "))
	if err != nil {
		t.Fatal(err)
	}
	ack, err := b.slack.WaitAck(t.Context(), blank)
	if err != nil {
		t.Fatal(err)
	}
	var answer struct {
		ResponseAction string            `json:"response_action"`
		Errors         map[string]string `json:"errors"`
	}
	if err := json.Unmarshal(ack.Payload, &answer); err != nil || answer.ResponseAction != "errors" || answer.Errors["reason"] == "" {
		t.Fatalf("ack of a blank reason = %s (%v); want response_action errors on the reason block", ack.Payload, err)
	}
	if _, err := b.slack.SendEnvelope("interactive", submission("web is not ready")); err != nil {
		t.Fatal(err)
	}
	b.threadHas(msg.TS, "rejected the release: web is not ready")
	// A rejected release cannot be approved: its buttons are gone, and an old copy is refused.
	old := b.button(carol, msg, "release_approve")
	if _, err := b.slack.BlockAction(old); err != nil {
		t.Fatal(err)
	}
	b.ephemeral(releaseChannel, carol, "now rejected")
	// And the pipeline is free again.
	b.command(alice, releaseChannel, "propose")
	b.waitReleases(2)
}

func TestReleaseDriftBetweenApprovalAndDispatch(t *testing.T) {
	t.Parallel()
	b := startBot(t, "2")
	b.command(alice, releaseChannel, "propose")
	msg := b.releaseMessage()
	b.click(bob, msg.TS, "release_approve")
	b.threadHas(msg.TS, "(1 of 2)")
	// Someone deploys web to prod by hand.
	b.kosli.SetEnvironment("aws-prod", []kositest.Artifact{{
		Name: "web", Fingerprint: "337fa91d02fa59729aca2941bbfebf999d1c5ae74b1492a4c99a33a925c7f052", Flow: "web-ci",
		CommitURL: "https://github.com/cyber-dojo/web/commit/ed1878bd4aba3cada1e6ae7bc510f6354c61c484", Instances: 1,
	}})
	b.click(carol, msg.TS, "release_approve")
	b.threadHas(msg.TS, "Not dispatched: the environments changed")
	b.threadHas(msg.TS, "already runs in aws-prod")
	if b.threadCount(msg.TS, "No promotion workflow") != 0 {
		t.Error("a stale release was dispatched")
	}
}

func TestReleaseRestartBetweenApprovalsKeepsBoth(t *testing.T) {
	t.Parallel()
	b := startBot(t, "2")
	b.command(alice, releaseChannel, "propose")
	msg := b.releaseMessage()
	b.click(bob, msg.TS, "release_approve")
	b.threadHas(msg.TS, "(1 of 2)")
	b.restart()
	b.click(carol, msg.TS, "release_approve")
	b.threadHas(msg.TS, "(2 of 2). The release is approved")
}

func TestReleaseExpires(t *testing.T) {
	t.Parallel()
	b := startBot(t, "2")
	b.command(alice, releaseChannel, "propose")
	msg := b.releaseMessage()
	b.clock.Advance(25 * time.Hour)
	b.click(bob, msg.TS, "release_approve")
	b.ephemeral(releaseChannel, bob, "expired")
}

// TestReleaseExpiresWithoutAClick: the sweep ends an expired release and
// takes its buttons away though nobody clicked.
func TestReleaseExpiresWithoutAClick(t *testing.T) {
	t.Parallel()
	b := startBot(t, "2", func(o *serveOptions) { o.SweepEvery = 100 * time.Millisecond })
	b.command(alice, releaseChannel, "propose")
	msg := b.releaseMessage()
	b.clock.Advance(25 * time.Hour)
	b.threadHas(msg.TS, "The release expired with 0 of 2 approvals")
	if text := b.parentText(msg.TS); !strings.Contains(text, "Expired") || strings.Contains(string(b.parentBlocks(msg.TS)), "release_approve") {
		t.Errorf("expired release still offers approval:\n%s", text)
	}
	// Its decision is recorded non-compliant, per artifact, once.
	if !eventually(func() bool { return decisions(b) == 2 }) {
		t.Fatalf("%d decisions for the expired release, want 2", decisions(b))
	}
	for _, a := range b.kosli.Attestations() {
		if a.Kind == "system" && (a.Compliant == nil || *a.Compliant) {
			t.Errorf("decision %s of an expired release is compliant", a.Name)
		}
	}
	b.command(alice, releaseChannel, "propose")
	b.waitReleases(2)
}

// TestReleaseConcurrentApprovalsDispatchOnce: 20 allowed users click at once
// on two replicas sharing one Redis; exactly one dispatch.
func TestReleaseConcurrentApprovalsDispatchOnce(t *testing.T) {
	t.Parallel()
	b := startBot(t, "2")
	var users []string
	for i := range 20 {
		u := fmt.Sprintf("U0MANY%05d", i)
		users = append(users, u)
		b.slack.AddUser(slacktest.User{ID: u, Name: "user" + u[6:]})
	}
	b.slack.AddUsergroup("S0RELMGRS01", "release-managers", append(users, alice, bob)...)
	b.start()
	b.waitFor("two connections", func(st *slacktest.State) bool { return len(st.Connections()) == 2 })
	b.command(alice, releaseChannel, "propose")
	msg := b.releaseMessage()
	approve := b.button(carol, msg, "release_approve") // from the first copy: late clicks are stale
	var wg sync.WaitGroup
	for _, u := range users {
		wg.Go(func() {
			click := approve
			click.UserID = u
			if _, err := b.slack.BlockAction(click); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	b.threadHas(msg.TS, "The release is approved")
	b.threadHas(msg.TS, "No promotion workflow is configured")
	// Every click is answered before anything is counted: an ephemeral to
	// the clicker, or its approval in the thread, is the last thing its
	// handler does, so once all are in no duplicate can come later.
	b.waitFor("every click to be answered", func(st *slacktest.State) bool {
		thread := st.Thread(releaseChannel, msg.TS)
		for _, u := range users {
			named := func(m slacktest.Message) bool { return strings.Contains(m.Text, "<@"+u+">") }
			if len(st.Ephemerals(releaseChannel, u)) == 0 && !slices.ContainsFunc(thread, named) {
				return false
			}
		}
		return true
	})
	if n := b.threadCount(msg.TS, "The release is approved"); n != 1 {
		t.Errorf("%d approval transitions", n)
	}
	if n := b.threadCount(msg.TS, "No promotion workflow is configured"); n != 1 {
		t.Errorf("%d dispatches", n)
	}
	if n := b.threadCount(msg.TS, "approved (1 of 2)"); n != 1 {
		t.Errorf("%d first approvals", n)
	}
}

// TestReleaseEvidenceOutageIsKeptAndRetried: Kosli fails the evidence at
// propose; the release says so once, approving goes on, and the outbox
// records it when Kosli answers, once.
func TestReleaseEvidenceOutageIsKeptAndRetried(t *testing.T) {
	t.Parallel()
	b := startBot(t, "2")
	b.kosli.FailNext(kositest.RouteTrails, 3, 500)
	b.command(alice, releaseChannel, "propose")
	msg := b.releaseMessage()
	// The message is posted first; the failed delivery right after refreshes it.
	b.threadHas(msg.TS, "The evidence is not in Kosli yet (Kosli answered HTTP 500")
	b.waitParent(msg.TS, "the message to say the evidence is missing", "Evidence not in Kosli yet")
	b.click(bob, msg.TS, "release_approve")
	b.threadHas(msg.TS, "<@"+bob+"> approved (1 of 2)")
	b.waitParent(msg.TS, "the evidence recorded", ":receipt: Evidence: ")
	if n := b.threadCount(msg.TS, "The evidence is not in Kosli yet"); n != 1 {
		t.Errorf("told %d times that the evidence is missing, want once", n)
	}
	if n := len(b.kosli.Trails()); n != 1 {
		t.Errorf("%d trails begun, want 1", n)
	}
}

// TestReleaseClickBeforeTheMessageIsRecorded: a click can arrive between
// propose posting the message and recording its ts; the click itself says
// where the parent is, so the approval is still answered in the thread.
func TestReleaseClickBeforeTheMessageIsRecorded(t *testing.T) {
	t.Parallel()
	b := startBot(t, "2")
	b.command(alice, releaseChannel, "propose")
	msg := b.releaseMessage()
	b.threadHas(msg.TS, "Proposed by")
	id := releaseID(msg)
	b.setMessageTS(id, "")
	b.click(bob, msg.TS, "release_approve")
	b.threadHas(msg.TS, "<@"+bob+"> approved (1 of 2)")
	if !strings.Contains(b.parentText(msg.TS), "Waiting for approval (1 of 2)") {
		t.Errorf("parent not refreshed:\n%s", b.parentText(msg.TS))
	}
}

// TestReleaseCancelBeforeTheMessageIsRecorded: /release cancel typed the
// moment the message shows can run before propose has recorded its ts; the
// cancellation still reaches the thread and the parent once the ts is there.
func TestReleaseCancelBeforeTheMessageIsRecorded(t *testing.T) {
	t.Parallel()
	b := startBot(t, "2")
	b.command(alice, releaseChannel, "propose")
	msg := b.releaseMessage()
	b.threadHas(msg.TS, "Proposed by")
	id := releaseID(msg)
	b.setMessageTS(id, "")
	b.command(alice, releaseChannel, "cancel "+id+" changed my mind")
	st := b.store()
	if !eventually(func() bool {
		r, err := st.Get(context.Background(), id)
		return err == nil && r.State == release.Cancelled
	}) {
		t.Fatal("the release was not cancelled")
	}
	b.setMessageTS(id, msg.TS) // propose records the ts only now
	b.threadHas(msg.TS, "<@"+alice+"> cancelled the release: changed my mind")
	b.ephemeral(releaseChannel, alice, "Release `"+id+"` is cancelled.")
	if text := b.parentText(msg.TS); !strings.Contains(strings.ToLower(text), "cancelled") || strings.Contains(string(b.parentBlocks(msg.TS)), "release_approve") {
		t.Errorf("the parent does not show the cancellation:\n%s", text)
	}
}

// TestReleaseListAndWhoMayCancel: /release list shows the pipeline's
// releases; a guest may not cancel one, its proposer may.
func TestReleaseListAndWhoMayCancel(t *testing.T) {
	t.Parallel()
	b := startBot(t, "2")
	b.command(alice, releaseChannel, "propose")
	msg := b.releaseMessage()
	id := releaseID(msg)
	b.command(bob, releaseChannel, "list")
	b.ephemeral(releaseChannel, bob, "Recent releases of `prod`")
	b.ephemeral(releaseChannel, bob, "`"+id+"` proposed")
	b.command(dave, releaseChannel, "cancel "+id+" a guest says no")
	b.ephemeral(releaseChannel, dave, "Only the proposer or an approver")
	b.command(alice, releaseChannel, "cancel "+id+" not this week")
	b.ephemeral(releaseChannel, alice, "Release `"+id+"` is cancelled.")
	b.threadHas(msg.TS, "<@"+alice+"> cancelled the release: not this week")
	b.command(alice, releaseChannel, "cancel "+id+" not this week")
	b.ephemeral(releaseChannel, alice, "is already cancelled")
	b.command(bob, releaseChannel, "status nope-2026-01-01-1")
	b.ephemeral(releaseChannel, bob, "There is no release `nope-2026-01-01-1`")
}
