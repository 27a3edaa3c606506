package commands_test

import (
	"context"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/release-bot/release-bot/internal/commands"
	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/slackbot"
	"github.com/release-bot/release-bot/internal/slackbot/slacktest"
)

// TestAMessageNeverGoesBackToAnOlderState: a rewrite of the release message
// is slow at Slack (held before it takes effect) while the release is
// cancelled and the cancel rewrites the message too. Two chat.update calls
// in flight at once could land in either order and leave the message
// showing the release as still waiting for approval; the rewrites of one
// release go one at a time, each rendering the newest state, so the
// message ends showing the cancellation.
func TestAMessageNeverGoesBackToAnOlderState(t *testing.T) {
	e := newDriftEnv(t, "2", func(d *commands.Deps) {
		api := d.Slack.(*slackbot.API)
		d.Views, d.People = api, api
	})
	e.slack.AddUser(slacktest.User{ID: rejectProposer, Name: "alice"})
	ctx := context.Background()
	e.h.Command(ctx, slack.SlashCommand{TeamID: "T0SLACKTEST", ChannelID: driftChannel, UserID: rejectProposer, Command: "/release", Text: "propose"})
	r, err := e.store.Active(ctx, "prod")
	if err != nil || r == nil || r.MessageTS == "" {
		t.Fatalf("no proposed release: %v, %+v", err, r)
	}
	var updates atomic.Int32
	held, letGo := e.slack.Hold("chat.update", func(url.Values) bool { return updates.Add(1) == 1 }, false)
	defer letGo()

	first := make(chan struct{})
	go func() { defer close(first); e.h.Refresh(ctx, r.ID) }()
	select {
	case <-held:
	case <-time.After(10 * time.Second):
		t.Fatal("the first rewrite never reached Slack")
	}
	cancelled := make(chan struct{})
	go func() {
		defer close(cancelled)
		e.h.Command(ctx, slack.SlashCommand{TeamID: "T0SLACKTEST", ChannelID: driftChannel, UserID: rejectProposer, Command: "/release", Text: "cancel " + r.ID + " not today"})
	}()
	waitState(t, e, r.ID, release.Cancelled)
	letGo()
	<-first
	<-cancelled
	msg, ok := e.slack.Message(driftChannel, r.MessageTS)
	if !ok {
		t.Fatal("the release message is gone")
	}
	if strings.Contains(string(msg.Blocks), "release_approve") || !strings.Contains(msg.Text, "ancel") {
		t.Errorf("after the cancel, the message reads %q with blocks %s; want the cancellation and no Approve button", msg.Text, msg.Blocks)
	}
}

// waitState waits until the release is in state s.
func waitState(t *testing.T, e *driftEnv, id string, s release.State) {
	t.Helper()
	for range 400 {
		if e.state(t, id).State == s {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("release %s never reached %s", id, s)
}
