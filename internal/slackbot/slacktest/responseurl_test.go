package slacktest_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/release-bot/release-bot/internal/slackbot/slacktest"
)

// slashCommand sends a command and returns it as the bot receives it.
func slashCommand(t *testing.T, fake *slacktest.Server, sm *socketmode.Client, text string) slack.SlashCommand {
	t.Helper()
	if _, err := fake.SlashCommand(slacktest.SlashCommand{ChannelID: channelID, UserID: alice, Text: text}); err != nil {
		t.Fatal(err)
	}
	ev := waitEvent(t, sm, socketmode.EventTypeSlashCommand)
	ack(t, sm, ev, nil)
	return ev.Data.(slack.SlashCommand)
}

func TestResponseURLReplacesTheEphemeralAndIsUsedUpAfterFive(t *testing.T) {
	fake := newFake(t, slacktest.Options{})
	sm := connected(t, fake)
	cmd := slashCommand(t, fake, sm, "diff prod")
	ctx := ctxT(t)

	if err := slack.PostWebhookContext(ctx, cmd.ResponseURL, &slack.WebhookMessage{Text: "Working on it…"}); err != nil {
		t.Fatal(err)
	}
	if err := slack.PostWebhookContext(ctx, cmd.ResponseURL, &slack.WebhookMessage{Text: "3 services to ship", ReplaceOriginal: true}); err != nil {
		t.Fatal(err)
	}
	eph := fake.Ephemerals(channelID, alice)
	if len(eph) != 1 || eph[0].Text != "3 services to ship" || !eph[0].Edited || eph[0].VisibleTo != alice {
		t.Errorf("ephemerals = %+v, want the first one replaced", eph)
	}
	if len(fake.Messages(channelID)) != 0 {
		t.Errorf("an ephemeral reply became public: %+v", fake.Messages(channelID))
	}

	if err := slack.PostWebhookContext(ctx, cmd.ResponseURL, &slack.WebhookMessage{Text: "shipped", ResponseType: slack.ResponseTypeInChannel}); err != nil {
		t.Fatal(err)
	}
	if msgs := fake.Messages(channelID); len(msgs) != 1 || msgs[0].Text != "shipped" || msgs[0].User != fake.Options().BotUserID {
		t.Errorf("in_channel response = %+v", msgs)
	}
	for i := 4; i <= 5; i++ {
		if err := slack.PostWebhookContext(ctx, cmd.ResponseURL, &slack.WebhookMessage{Text: "more"}); err != nil {
			t.Fatalf("use %d: %v", i, err)
		}
	}
	err := slack.PostWebhookContext(ctx, cmd.ResponseURL, &slack.WebhookMessage{Text: "one too many"})
	var sc slack.StatusCodeError
	if !errors.As(err, &sc) || sc.Code != http.StatusNotFound {
		t.Errorf("sixth use: %v, want 404", err)
	}
	if calls := fake.Calls("response_url"); len(calls) != 6 || calls[5].Error != "used_url" {
		t.Errorf("calls = %+v", calls)
	}
}

func TestResponseURLOfAClickActsOnTheClickedMessage(t *testing.T) {
	fake := newFake(t, slacktest.Options{})
	sm := connected(t, fake)
	api := newAPI(fake)
	ctx := ctxT(t)
	_, ts, err := api.PostMessageContext(ctx, channelID, slack.MsgOptionText("Release 42", false),
		slack.MsgOptionBlocks(approvalBlocks("rel-42-v1")...))
	if err != nil {
		t.Fatal(err)
	}
	// BlockID is given so that the second click, on a stale button of a
	// client that has not redrawn, still works after the replace.
	click := func() slack.InteractionCallback {
		t.Helper()
		a := slacktest.BlockAction{UserID: bob, ChannelID: channelID, MessageTS: ts, ActionID: "approve", BlockID: "rel-42-v1"}
		if _, err := fake.BlockAction(a); err != nil {
			t.Fatal(err)
		}
		ev := waitEvent(t, sm, socketmode.EventTypeInteractive)
		ack(t, sm, ev, nil)
		return ev.Data.(slack.InteractionCallback)
	}

	cb := click()
	// The chat.* way: MsgOptionReplaceOriginal posts JSON to the response URL.
	if _, _, err := api.PostMessageContext(ctx, channelID, slack.MsgOptionReplaceOriginal(cb.ResponseURL),
		slack.MsgOptionText("Approved by bob", false)); err != nil {
		t.Fatal(err)
	}
	if body := string(fake.Calls("response_url")[0].Body); !strings.Contains(body, `"blocks":null`) {
		t.Errorf("slack-go no longer sends blocks:null, which the fake must accept: %s", body)
	}
	if m, _ := fake.Message(channelID, ts); m.Text != "Approved by bob" || !m.Edited || m.Blocks != nil || m.Ephemeral {
		t.Errorf("replaced message = %+v", m)
	}

	cb = click()
	if cb.Message.Text != "Approved by bob" {
		t.Errorf("the click carries the message as it was: %q", cb.Message.Text)
	}
	if err := slack.PostWebhookContext(ctx, cb.ResponseURL, &slack.WebhookMessage{DeleteOriginal: true}); err != nil {
		t.Fatal(err)
	}
	if msgs := fake.Messages(channelID); len(msgs) != 0 {
		t.Errorf("deleted message still shown: %+v", msgs)
	}
	if _, err := fake.BlockAction(slacktest.BlockAction{UserID: bob, ChannelID: channelID, MessageTS: ts, ActionID: "approve"}); !errors.Is(err, slacktest.ErrMessageNotFound) {
		t.Errorf("click on a deleted message: %v", err)
	}
}

func TestViewsOpenNeedsAFreshTrigger(t *testing.T) {
	now := time.Date(2026, 1, 2, 9, 0, 0, 0, time.UTC)
	clock := make(chan time.Time, 1)
	clock <- now
	tick := func() time.Time { t := <-clock; clock <- t; return t }
	fake := newFake(t, slacktest.Options{Clock: tick})
	sm := connected(t, fake)
	cmd := slashCommand(t, fake, sm, "propose")
	api := newAPI(fake)

	modal := slack.ModalViewRequest{
		Type:  slack.VTModal,
		Title: slack.NewTextBlockObject(slack.PlainTextType, "Reject release", false, false),
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "Why?", false, false), nil, nil),
		}},
	}
	v, err := api.OpenViewContext(ctxT(t), cmd.TriggerID, modal)
	if err != nil || v.ID == "" {
		t.Fatalf("views.open = %+v, %v", v, err)
	}
	if views := fake.Views(); len(views) != 1 || views[0].ID != v.ID || views[0].UserID != alice {
		t.Errorf("views = %+v", views)
	}

	<-clock
	clock <- now.Add(4 * time.Second)
	var se slack.SlackErrorResponse
	if _, err := api.OpenViewContext(ctxT(t), cmd.TriggerID, modal); !errors.As(err, &se) || se.Err != "expired_trigger_id" {
		t.Errorf("stale trigger: %v", err)
	}
}

func TestSubscribeDeliversEveryChange(t *testing.T) {
	fake := newFake(t, slacktest.Options{})
	events, cancel := fake.Subscribe()
	defer cancel()
	api := newAPI(fake)
	ctx := ctxT(t)
	_, ts, err := api.PostMessageContext(ctx, channelID, slack.MsgOptionText("one", false))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := api.UpdateMessageContext(ctx, channelID, ts, slack.MsgOptionText("two", false)); err != nil {
		t.Fatal(err)
	}
	if _, err := api.PostEphemeralContext(ctx, channelID, bob, slack.MsgOptionText("psst", false)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := api.DeleteMessageContext(ctx, channelID, ts); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		kind slacktest.EventKind
		text string
	}{{slacktest.EventPosted, "one"}, {slacktest.EventUpdated, "two"}, {slacktest.EventEphemeral, "psst"}, {slacktest.EventDeleted, "two"}}
	for _, w := range want {
		select {
		case e := <-events:
			if e.Kind != w.kind || e.Message.Text != w.text || e.Message.Channel != channelID {
				t.Errorf("event = %+v, want %s %q", e, w.kind, w.text)
			}
		case <-ctx.Done():
			t.Fatalf("no %s event", w.kind)
		}
	}
	cancel()
	if _, ok := <-events; ok {
		t.Error("channel open after cancel")
	}
}

func TestCloseReleasesWaiters(t *testing.T) {
	fake := slacktest.New(slacktest.Options{})
	fake.Start()
	events, _ := fake.Subscribe()
	errc := make(chan error, 1)
	go func() { errc <- fake.WaitFor(t.Context(), func(*slacktest.State) bool { return false }) }()
	fake.Close()
	fake.Close()
	if err := <-errc; !errors.Is(err, slacktest.ErrClosed) {
		t.Errorf("WaitFor after Close = %v", err)
	}
	if _, ok := <-events; ok {
		t.Error("subscription open after Close")
	}
}
