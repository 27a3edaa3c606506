package main

import (
	"strings"
	"testing"
	"time"

	"github.com/release-bot/release-bot/internal/config"
	"github.com/release-bot/release-bot/internal/slackbot/slacktest"
)

// Issue 17 §2: the approvers hear of a release when it is proposed, are
// reminded once and escalated once, each across replicas and restarts.

const (
	erin      = "U0ERIN00001" // a release lead, pinged by the escalation
	leadGroup = "S0RELLEADS1"
)

// withApprovals runs e2eConfig with approvals extended by extra keys (a
// flow mapping's inside, e.g. `notify: channel`); the sweep every 100ms.
func withApprovals(t *testing.T, extra string) botOption {
	t.Helper()
	yaml := strings.Replace(e2eConfig, "expire_after: 24h }", "expire_after: 24h, "+extra+" }", 1)
	cfg, err := config.Parse("bot.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return func(o *serveOptions) { o.Config, o.SweepEvery = cfg, 100*time.Millisecond }
}

// dmHas waits for a DM to user containing want.
func (b *bot) dmHas(user, want string) slacktest.Message {
	b.t.Helper()
	var found slacktest.Message
	b.waitFor("a DM to "+user+" containing "+want, func(st *slacktest.State) bool {
		for _, m := range st.DMs(user) {
			if strings.Contains(m.Text, want) {
				found = m
				return true
			}
		}
		return false
	})
	return found
}

// TestNudgeProposalDMsEachApproverButTheProposerAndTheMuted: with the
// default notify (dm), each approver (carol by id, bob and alice through
// @release-managers) gets one DM with the release's summary and the
// permalink of its message, and no buttons; the proposer (alice) and
// whoever muted the pipeline (bob) get none. A mute is the person's own:
// said twice it says so; it works from any channel when the pipeline is
// named.
func TestNudgeProposalDMsEachApproverButTheProposerAndTheMuted(t *testing.T) {
	b := startBot(t, "2")
	b.command(bob, releaseChannel, "mute")
	b.ephemeral(releaseChannel, bob, ":no_bell: You will get no direct messages about releases of `prod`")
	b.command(bob, otherChannel, "mute prod")
	b.ephemeral(otherChannel, bob, "You had already muted `prod`.")
	b.command(carol, otherChannel, "unmute prod")
	b.ephemeral(otherChannel, carol, "You had not muted `prod`")

	b.command(alice, releaseChannel, "propose")
	msg := b.releaseMessage()
	id := releaseID(msg)
	link := b.slack.Permalink(releaseChannel, msg.TS)
	dm := b.dmHas(carol, "proposed release `"+id+"`")
	for _, want := range []string{"<@" + alice + "> proposed release `" + id + "` of `prod` for your approval", "2 artifact(s): `",
		"<" + link + "|Open it> to approve or reject it."} {
		if !strings.Contains(dm.Text, want) {
			t.Errorf("carol's DM lacks %q:\n%s", want, dm.Text)
		}
	}
	if strings.Contains(string(dm.Blocks), `"actions"`) || strings.Contains(string(dm.Blocks), "release_approve") {
		t.Errorf("the DM has buttons: %s", dm.Blocks)
	}
	b.threadHas(msg.TS, "Proposed by")
	b.waitLogs("the proposal's DMs to be done", func(logs string) bool {
		return strings.Contains(logs, `"message":"direct messages sent"`)
	})
	if !strings.Contains(b.logs.String(), `"sent":1,"muted":1,"failed":0`) {
		t.Errorf("the DMs were not 1 sent and 1 muted:\n%s", b.logs.String())
	}
	for _, u := range []string{alice, bob} {
		if dms := b.slack.DMs(u); len(dms) != 0 {
			t.Errorf("%s got DMs: %+v", u, dms)
		}
	}
	if n := len(b.slack.DMs(carol)); n != 1 {
		t.Errorf("carol got %d DMs, want 1", n)
	}
	for _, c := range b.slack.Calls("conversations.open") {
		if c.Values.Get("users") != carol {
			t.Errorf("conversations.open for %q", c.Values.Get("users"))
		}
	}

	// Unmuted, bob hears of the next release.
	b.command(bob, releaseChannel, "unmute")
	b.ephemeral(releaseChannel, bob, ":bell: You will get direct messages about releases of `prod` again.")
	b.command(alice, releaseChannel, "cancel "+id+" wrong plan")
	b.threadHas(msg.TS, "cancelled the release")
	b.command(alice, releaseChannel, "propose")
	b.waitReleases(2)
	b.dmHas(bob, "proposed release `")
}

// TestNudgeNotifyChannelOrNone: notify: channel mentions the approvers
// once in the thread (the group as a group) and sends no DM; notify: none
// says nothing at propose, and its reminder is in the thread only.
func TestNudgeNotifyChannelOrNone(t *testing.T) {
	t.Run("channel", func(t *testing.T) {
		b := startBot(t, "2", withApprovals(t, "notify: channel"))
		b.command(alice, releaseChannel, "propose")
		msg := b.releaseMessage()
		b.threadHas(msg.TS, ":bell: <!subteam^S0RELMGRS01|@release-managers> <@"+carol+">: this release waits for 2 approvals.")
		b.threadHas(msg.TS, "Proposed by")
		if n := b.threadCount(msg.TS, ":bell:"); n != 1 {
			t.Errorf("%d mentions in the thread", n)
		}
		if n := len(b.slack.Calls("conversations.open")); n != 0 {
			t.Errorf("%d DMs opened with notify: channel", n)
		}
	})
	t.Run("none", func(t *testing.T) {
		b := startBot(t, "2", withApprovals(t, "notify: none, remind_after: 1h"))
		b.command(alice, releaseChannel, "propose")
		msg := b.releaseMessage()
		b.threadHas(msg.TS, "Proposed by")
		b.clock.Advance(time.Hour + time.Minute)
		b.threadHas(msg.TS, ":bell: Reminder: this release has waited 1h with 0 of 2 approvals. <@"+bob+"> <@"+carol+">: approve or reject it above.")
		if n := b.threadCount(msg.TS, ":bell:"); n != 1 {
			t.Errorf("%d bells in the thread, want the reminder only", n)
		}
		if n := len(b.slack.Calls("conversations.open")); n != 0 {
			t.Errorf("%d DMs opened with notify: none", n)
		}
	})
}

// TestNudgeReminderAndEscalationOnceAcrossReplicasAndARestart: two
// replicas sweep every 100ms. After remind_after (by the fake clock) the
// one approver who has not decided (bob: alice proposed, carol approved)
// is reminded once in the thread and by DM; after escalate_after
// @release-leads is pinged once. r1 restarts in between and sweeps many
// times past both: neither is sent again.
func TestNudgeReminderAndEscalationOnceAcrossReplicasAndARestart(t *testing.T) {
	opt := withApprovals(t, `remind_after: 2h, escalate_after: 8h, escalate_to: ["@release-leads"]`)
	b := startBot(t, "2", opt, replica("r1"))
	b.slack.AddUser(slacktest.User{ID: erin, Name: "erin"})
	b.slack.AddUsergroup(leadGroup, "release-leads", erin)
	b.start(opt, replica("r2"))
	b.waitFor("two connections", func(st *slacktest.State) bool { return len(st.Connections()) == 2 })

	b.command(alice, releaseChannel, "propose")
	msg := b.releaseMessage()
	id := releaseID(msg)
	b.dmHas(bob, "proposed release `"+id+"`")
	b.dmHas(carol, "proposed release `"+id+"`")
	b.click(carol, msg.TS, "release_approve")
	b.threadHas(msg.TS, "approved (1 of 2)")

	b.clock.Advance(2*time.Hour + time.Minute)
	b.threadHas(msg.TS, ":bell: Reminder: this release has waited 2h with 1 of 2 approvals. <@"+bob+">: approve or reject it above.")
	b.dmHas(bob, ":bell: Reminder: release `"+id+"` of `prod` has waited 2h for approval (1 of 2).")

	// r1 restarts while r2 runs on; both then sweep past the reminder.
	if err := b.stopInstance(b.instance); err != nil {
		t.Fatal(err)
	}
	b.waitFor("r1 to go", func(st *slacktest.State) bool { return len(st.Connections()) == 1 })
	b.instance = b.start(opt, replica("r1"))
	b.waitFor("r1 back", func(st *slacktest.State) bool { return len(st.Connections()) == 2 })
	b.clock.Advance(6 * time.Hour)
	b.threadHas(msg.TS, ":rotating_light: Escalation: this release has waited 8h with 1 of 2 approvals. <!subteam^"+leadGroup+"|@release-leads>: it needs an approver.")
	b.waitLogs("sweeps past both nudges", func(logs string) bool {
		return logLines(logs, `"nudge":"escalate"`, "the nudge was sent already") >= 10 &&
			logLines(logs, `"nudge":"remind"`, "the nudge was sent already") >= 10
	})
	if n := b.threadCount(msg.TS, "Reminder:"); n != 1 {
		t.Errorf("%d reminders in the thread, want 1", n)
	}
	if n := b.threadCount(msg.TS, "Escalation:"); n != 1 {
		t.Errorf("%d escalations in the thread, want 1", n)
	}
	if dms := b.slack.DMs(bob); len(dms) != 2 {
		t.Errorf("bob got %d DMs, want the proposal's and the reminder", len(dms))
	}
	if dms := b.slack.DMs(carol); len(dms) != 1 {
		t.Errorf("carol (who approved) got %d DMs, want the proposal's only", len(dms))
	}
	if dms := b.slack.DMs(alice); len(dms) != 0 {
		t.Errorf("alice (the proposer) got %d DMs", len(dms))
	}
}

// TestNudgeNothingForAReleaseThatEnded: a release rejected, one cancelled
// and one approved before remind_after are never reminded nor escalated;
// the approved one (recorded only: no workflow) is still the pipeline's
// active release while the sweeps run past both times.
func TestNudgeNothingForAReleaseThatEnded(t *testing.T) {
	b := startBot(t, "2", withApprovals(t, `remind_after: 2h, escalate_after: 3h, escalate_to: ["`+carol+`"]`))
	end := []func(msg slacktest.Message){
		func(msg slacktest.Message) {
			if _, err := b.slack.SendEnvelope("interactive", b.rejectDialog(carol, msg.TS)("not this week")); err != nil {
				t.Fatal(err)
			}
			b.threadHas(msg.TS, "rejected the release")
		},
		func(msg slacktest.Message) {
			b.command(alice, releaseChannel, "cancel "+releaseID(msg)+" wrong plan")
			b.threadHas(msg.TS, "cancelled the release")
		},
		func(msg slacktest.Message) {
			b.click(bob, msg.TS, "release_approve")
			b.click(carol, msg.TS, "release_approve")
			b.threadHas(msg.TS, "so nothing was dispatched")
		},
	}
	var threads []string
	for i, f := range end {
		b.command(alice, releaseChannel, "propose")
		b.waitReleases(i + 1)
		msg := b.slack.Messages(releaseChannel)[i]
		b.dmHas(bob, "proposed release `"+releaseID(msg)+"`")
		f(msg)
		threads = append(threads, msg.TS)
	}
	swept := logLines(b.logs.String(), `"message":"swept"`)
	b.clock.Advance(4 * time.Hour)
	b.waitLogs("sweeps past both times", func(logs string) bool {
		return logLines(logs, `"message":"swept"`) >= swept+5
	})
	for _, ts := range threads {
		for _, word := range []string{"Reminder", "Escalation"} {
			if n := b.threadCount(ts, word); n != 0 {
				t.Errorf("an ended release's thread has %d %s", n, word)
			}
		}
	}
	if n := len(b.slack.DMs(bob)); n != 3 {
		t.Errorf("bob got %d DMs, want the 3 proposals' only", n)
	}
	if n := logLines(b.logs.String(), `"nudge":"remind"`) + logLines(b.logs.String(), `"nudge":"escalate"`); n != 0 {
		t.Errorf("%d log lines about reminders or escalations", n)
	}
}

// waitLogs waits until the logs satisfy cond, looking every few
// milliseconds: a log line wakes no Slack waiter.
func (b *bot) waitLogs(what string, cond func(logs string) bool) {
	b.t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond(b.logs.String()) {
		if time.Now().After(deadline) {
			b.t.Fatalf("waiting for %s in the logs:\n%s", what, b.logs.String())
		}
		<-tick.C
	}
}

// logLines counts the log lines that contain every one of want.
func logLines(logs string, want ...string) int {
	n := 0
	for _, line := range strings.Split(logs, "\n") {
		all := true
		for _, w := range want {
			all = all && strings.Contains(line, w)
		}
		if all {
			n++
		}
	}
	return n
}
