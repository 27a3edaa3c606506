package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/release-bot/release-bot/internal/slackbot/slacktest"
)

// lastView waits for the n-th view opened with callback and returns it.
func (b *bot) lastView(callback string, n int) slacktest.View {
	b.t.Helper()
	var v slacktest.View
	b.waitFor("dialog "+callback, func(st *slacktest.State) bool {
		seen := 0
		for _, x := range st.Views() {
			if strings.Contains(string(x.View), `"callback_id":"`+callback+`"`) {
				seen++
				v = x
			}
		}
		return seen >= n
	})
	return v
}

// submitReason submits a reason dialog as Slack's client would.
func (b *bot) submitReason(user string, v slacktest.View, reason string) error {
	_, err := b.slack.SubmitView(slacktest.ViewSubmission{UserID: user, ViewID: v.ID, Values: map[string]map[string]string{"reason": {"reason": reason}}})
	return err
}

// TestReasonCancelAsksWhyAndRecordsItOnce: /release cancel opens the
// reason dialog with the command's trigger; Slack's client will not submit
// 2 characters; the reason submitted is in the thread (escaped), the
// release's history and the decision sent to Kosli. The same dialog
// submitted again, and a reject dialog opened before the cancel and
// submitted after it, change nothing and say why.
func TestReasonCancelAsksWhyAndRecordsItOnce(t *testing.T) {
	b := startBot(t, "2")
	b.command(alice, releaseChannel, "propose")
	msg := b.releaseMessage()
	b.click(carol, msg.TS, "release_reject")
	reject := b.lastView("release_reject_reason", 1)

	b.command(alice, releaseChannel, "cancel")
	cancel := b.lastView("release_cancel_reason", 1)
	if err := b.submitReason(alice, cancel, "ab"); !errors.Is(err, slacktest.ErrInvalidInput) {
		t.Fatalf("a 2-character reason was submitted: %v", err)
	}
	const reason = "beta has a <bad> config & must be redone"
	if err := b.submitReason(alice, cancel, reason); err != nil {
		t.Fatal(err)
	}
	b.threadHas(msg.TS, "cancelled the release: beta has a &lt;bad&gt; config &amp; must be redone")

	if err := b.submitReason(alice, cancel, reason+" again"); err != nil {
		t.Fatal(err)
	}
	b.ephemeral(releaseChannel, alice, "is already cancelled (by <@"+alice+">), so nothing changed")
	if err := b.submitReason(carol, reject, "too late to reject"); err != nil {
		t.Fatal(err)
	}
	b.ephemeral(releaseChannel, carol, "is already cancelled (by <@"+alice+">), so nothing changed")
	if n := b.threadCount(msg.TS, "cancelled the release"); n != 1 {
		t.Errorf("thread tells the cancellation %d times", n)
	}
	if n := b.threadCount(msg.TS, "rejected"); n != 0 {
		t.Errorf("thread tells a rejection %d times", n)
	}

	rs, err := b.store().List(t.Context(), "prod", 1)
	if err != nil || len(rs) != 1 {
		t.Fatalf("releases: %v, %v", rs, err)
	}
	r := rs[0]
	if last := r.History[len(r.History)-1]; last.Note != reason || last.By != alice || r.Rejection != nil {
		t.Errorf("history ends with %+v (rejection %+v); want the cancel by alice with the reason", last, r.Rejection)
	}
	if !eventually(func() bool { return decisions(b) == 2 }) {
		t.Fatalf("%d decisions in Kosli, want 2 (one per artifact)", decisions(b))
	}
	for _, a := range b.kosli.Attestations() {
		if a.Kind != "system" {
			continue
		}
		ud, _ := a.Payload["user_data"].(map[string]any)
		if ud["note"] != reason || ud["decision"] != "cancelled" || ud["by"] != alice {
			t.Errorf("decision %s does not carry the reason: %v", a.Name, a.Payload)
		}
	}
}

// TestReasonCancelOnTheCommandLine: a reason after the release id cancels
// at once; one too short is refused with the rule and changes nothing.
func TestReasonCancelOnTheCommandLine(t *testing.T) {
	b := startBot(t, "2")
	b.command(alice, releaseChannel, "propose")
	msg := b.releaseMessage()
	rs, err := b.store().List(t.Context(), "prod", 1)
	if err != nil || len(rs) != 1 {
		t.Fatalf("releases: %v, %v", rs, err)
	}
	id := rs[0].ID
	b.command(alice, releaseChannel, "cancel "+id+" no")
	b.ephemeral(releaseChannel, alice, "at least 3 characters")
	b.command(dave, releaseChannel, "cancel "+id+" a guest says no")
	b.ephemeral(releaseChannel, dave, "Only the proposer or an approver")
	b.command(alice, releaseChannel, "cancel "+id+" wrong services picked")
	b.threadHas(msg.TS, "cancelled the release: wrong services picked")
	b.ephemeral(releaseChannel, alice, "Release `"+id+"` is cancelled.")
	if n := len(b.slack.Views()); n != 0 {
		t.Errorf("%d dialogs opened for a cancel with a reason", n)
	}
}
