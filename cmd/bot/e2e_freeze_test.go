package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/release-bot/release-bot/internal/config"
	"github.com/release-bot/release-bot/internal/github/githubtest"
	"github.com/release-bot/release-bot/internal/kosli/kositest"
	"github.com/release-bot/release-bot/internal/slackbot/slacktest"
)

// channelHas waits for a top-level message in the release channel containing want.
func (b *bot) channelHas(want string) slacktest.Message {
	b.t.Helper()
	var found slacktest.Message
	b.waitFor("a channel message containing "+want, func(st *slacktest.State) bool {
		for _, m := range st.Messages(releaseChannel) {
			if !m.Ephemeral && m.ThreadTS == "" && (strings.Contains(m.Text, want) || strings.Contains(string(m.Blocks), want)) {
				found = m
				return true
			}
		}
		return false
	})
	return found
}

// channelPosts counts the top-level messages the bot posted in the release channel.
func (b *bot) channelPosts() int {
	n := 0
	for _, m := range b.slack.Messages(releaseChannel) {
		if !m.Ephemeral && m.ThreadTS == "" {
			n++
		}
	}
	return n
}

// frozenInRedis reports whether the store holds an ad hoc freeze of prod.
func (b *bot) frozenInRedis() bool {
	b.t.Helper()
	w, err := b.store().AdHocFreeze(context.Background(), "prod")
	if err != nil {
		b.t.Fatal(err)
	}
	return w != nil
}

// TestFreezeBadInputChangesNothing: each mistake gets one line only its
// author sees, and no freeze is written or announced.
func TestFreezeBadInputChangesNothing(t *testing.T) {
	b := startBot(t, "2")
	for _, tc := range []struct{ user, text, want string }{
		{dave, "freeze 2h incident", "Only the approvers of pipeline `prod`"},
		{carol, "freeze nope 2h incident", "There is no pipeline called `nope`"},
		{carol, "freeze 2h", "A freeze needs a reason"},
		{carol, "freeze prod soon incident", `"soon" (after the pipeline name "prod") is not a duration`},
		{carol, "freeze 0m incident", "must be greater than 0"},
		{carol, "freeze until tomorrow incident", `"tomorrow" is not a time`},
		{carol, "freeze until 2020-01-01T00:00:00Z old news", "2020-01-01T00:00:00Z is in the past"},
		{carol, "unfreeze", "Pipeline `prod` is not frozen."},
		{dave, "unfreeze", "Only the approvers of pipeline `prod`"},
	} {
		b.command(tc.user, releaseChannel, tc.text)
		b.ephemeral(releaseChannel, tc.user, tc.want)
	}
	if b.frozenInRedis() {
		t.Error("a bad command froze the pipeline")
	}
	if n := b.channelPosts(); n != 0 {
		t.Errorf("%d messages in the channel after bad commands", n)
	}
	b.command(carol, otherChannel, "freeze prod 2h incident")
	b.ephemeral(otherChannel, carol, "works in <#"+releaseChannel+">")
	if b.frozenInRedis() {
		t.Error("a freeze from another channel froze the pipeline")
	}
}

// TestFreezeAdHoc: an approver freezes the pipeline; the channel is told,
// diff, drift, status and list say it, propose refuses with the same words,
// another replica sees it, and unfreeze lifts it.
func TestFreezeAdHoc(t *testing.T) {
	b := startBot(t, "2", replica("r1"))
	b.start(replica("r2"))
	b.waitFor("two connections", func(st *slacktest.State) bool { return len(st.Connections()) == 2 })

	b.command(bob, releaseChannel, "freeze 2h incident <42> & db")
	b.channelHas(":snowflake: <@" + bob + "> froze pipeline `prod` until <!date^")
	b.channelHas("incident &lt;42&gt; &amp; db")
	if !b.frozenInRedis() {
		t.Fatal("no freeze in Redis")
	}
	const frozen = "*Pipeline `prod` is frozen* until <!date^"
	// Envelopes are spread over both replicas: each answers the same.
	for _, u := range []string{alice, carol} {
		b.command(u, releaseChannel, "propose")
		p := b.ephemeral(releaseChannel, u, "No release can be proposed until then.")
		if !strings.Contains(p.Text, frozen) || !strings.Contains(p.Text, "an ad hoc freeze by <@"+bob+">: incident &lt;42&gt; &amp; db") {
			t.Errorf("refusal: %s", p.Text)
		}
	}
	if n := len(b.slack.Messages(releaseChannel)); b.channelPosts() != 1 {
		t.Errorf("a frozen propose posted (%d messages)", n)
	}
	b.command(alice, releaseChannel, "diff")
	b.channelHas("Nothing is proposed or dispatched until then.")
	b.command(alice, releaseChannel, "drift")
	drift := b.channelHas("Drift report")
	if !strings.Contains(blocksText(t, drift.Blocks), frozen) || strings.Contains(string(drift.Blocks), "release_propose") {
		t.Errorf("drift report while frozen: %s", drift.Blocks)
	}
	b.command(alice, releaseChannel, "list")
	b.ephemeral(releaseChannel, alice, frozen)
	b.command(alice, releaseChannel, "status")
	st := b.ephemeral(releaseChannel, alice, "has no releases yet")
	if !strings.Contains(st.Text, frozen) {
		t.Errorf("status: %s", st.Text)
	}

	b.command(carol, releaseChannel, "unfreeze")
	b.channelHas(":sunny: <@" + carol + "> lifted the freeze of pipeline `prod` (by <@" + bob + ">")
	b.command(carol, releaseChannel, "unfreeze")
	b.ephemeral(releaseChannel, carol, "Pipeline `prod` is not frozen.")
	if b.frozenInRedis() {
		t.Error("still frozen in Redis")
	}
	b.command(alice, releaseChannel, "propose")
	b.releaseMessage()
}

// TestFreezeConfiguredWindow: a one-off window from the file holds the
// pipeline by the (fake) clock, unfreeze cannot lift it, and when the clock
// passes its end propose works again.
func TestFreezeConfiguredWindow(t *testing.T) {
	now := time.Now().UTC()
	yaml := e2eConfig + "    freezes:\n      - { name: year end, reason: books close, from: \"" +
		now.Add(-time.Minute).Format(time.RFC3339) + "\", until: \"" + now.Add(time.Hour).Format(time.RFC3339) + "\" }\n"
	cfg, err := config.Parse("bot.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	b := startBot(t, "2", func(o *serveOptions) { o.Config = cfg })
	b.command(alice, releaseChannel, "propose")
	p := b.ephemeral(releaseChannel, alice, "No release can be proposed until then.")
	if !strings.Contains(p.Text, "by *year end*: books close.") {
		t.Errorf("refusal: %s", p.Text)
	}
	b.command(carol, releaseChannel, "unfreeze")
	b.ephemeral(releaseChannel, carol, "which `/release unfreeze` cannot lift")
	b.clock.Advance(time.Hour)
	b.command(alice, releaseChannel, "propose")
	b.releaseMessage()
}

// TestFreezeHoldsAnApprovedRelease: a release approved while the pipeline is
// frozen is not dispatched; the thread says until when, once, whatever the
// sweeps of two replicas do; across a restart, when the (fake) clock passes
// the end, it takes the drift re-check and is dispatched exactly once.
func TestFreezeHoldsAnApprovedRelease(t *testing.T) {
	sweep := func(o *serveOptions) { o.SweepEvery = 100 * time.Millisecond }
	b := startShip(t, "2", githubtest.Workflow{}, shipSetup{}, sweep, replica("r1"))
	b.start(sweep, replica("r2"))
	b.waitFor("two connections", func(st *slacktest.State) bool { return len(st.Connections()) == 2 })

	b.command(alice, releaseChannel, "propose")
	msg := b.releaseMessage()
	b.command(carol, releaseChannel, "freeze 1h change freeze for the migration")
	b.channelHas("froze pipeline `prod`")
	b.click(carol, msg.TS, "release_approve")
	b.threadHas(msg.TS, "The release is approved and *waits*")
	b.threadHas(msg.TS, "*Pipeline `prod` is frozen* until <!date^")
	b.waitParent(msg.TS, "the parent to say it waits", "waiting for the freeze to end")
	// Sweeps run every 100ms on both replicas: let ten of them hold it;
	// none may dispatch it or tell the thread again.
	b.waitFor("sweeps to hold the release", func(*slacktest.State) bool {
		return strings.Count(b.logs.String(), `"message":"the release is still held by the freeze"`) >= 10
	})
	if n := len(b.gh.RequestsTo(githubtest.RouteDispatch)); n != 0 {
		t.Fatalf("%d dispatches while frozen", n)
	}
	if n := b.threadCount(msg.TS, "waits"); n != 1 {
		t.Errorf("the thread was told %d times that the release waits", n)
	}
	b.command(carol, releaseChannel, "status")
	b.ephemeral(releaseChannel, carol, "Approved: waiting for the freeze to end")

	// r1 restarts while r2 runs on.
	if err := b.stopInstance(b.instance); err != nil {
		t.Fatal(err)
	}
	b.waitFor("r1 to go", func(st *slacktest.State) bool { return len(st.Connections()) == 1 })
	b.instance = b.start(sweep, replica("r1"))
	b.waitFor("r1 back", func(st *slacktest.State) bool { return len(st.Connections()) == 2 })
	b.clock.Advance(time.Hour + time.Minute)
	b.threadHas(msg.TS, "Release succeeded")
	if n := len(b.gh.RequestsTo(githubtest.RouteDispatch)); n != 1 {
		t.Errorf("%d dispatches, want exactly 1", n)
	}
}

// TestFreezeThenDriftGoesStale: a release held by a freeze takes the drift
// re-check when it is unfrozen; what changed meanwhile makes it stale, and
// nothing is dispatched.
func TestFreezeThenDriftGoesStale(t *testing.T) {
	b := startShip(t, "2", githubtest.Workflow{}, shipSetup{}, func(o *serveOptions) { o.SweepEvery = 100 * time.Millisecond })
	b.command(alice, releaseChannel, "propose")
	msg := b.releaseMessage()
	b.command(carol, releaseChannel, "freeze until 2099-01-01T00:00:00Z release train paused")
	b.channelHas("froze pipeline `prod`")
	b.click(carol, msg.TS, "release_approve")
	b.threadHas(msg.TS, "The release is approved and *waits*")
	// Someone deploys web to prod by hand during the freeze.
	b.kosli.SetEnvironment("aws-prod", []kositest.Artifact{{
		Name: "web", Fingerprint: "337fa91d02fa59729aca2941bbfebf999d1c5ae74b1492a4c99a33a925c7f052", Flow: "web-ci",
		CommitURL: "https://github.com/cyber-dojo/web/commit/ed1878bd4aba3cada1e6ae7bc510f6354c61c484", Instances: 1,
	}})
	b.command(carol, releaseChannel, "unfreeze")
	b.threadHas(msg.TS, "Not dispatched: the environments changed")
	if n := len(b.gh.RequestsTo(githubtest.RouteDispatch)); n != 0 {
		t.Errorf("%d dispatches of a stale release", n)
	}
	if n := b.threadCount(msg.TS, "Not dispatched"); n != 1 {
		t.Errorf("told %d times", n)
	}
}
