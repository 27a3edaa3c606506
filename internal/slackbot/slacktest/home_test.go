package slacktest_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/release-bot/release-bot/internal/slackbot/slacktest"
)

func homeView(n int) slack.HomeTabViewRequest {
	blocks := make([]slack.Block, n)
	for i := range blocks {
		blocks[i] = slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, fmt.Sprintf("release %d", i), false, false), nil, nil)
	}
	return slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: blocks}}
}

// TestViewsPublishKeepsAUsersHomeWithinSlacksLimits: 100 blocks publish
// and 101 do not (invalid_blocks); a stale hash is refused with
// hash_conflict; the Home tab keeps its view id; a modal type is refused.
func TestViewsPublishKeepsAUsersHomeWithinSlacksLimits(t *testing.T) {
	fake := newFake(t, slacktest.Options{})
	api := newAPI(fake)
	ctx := ctxT(t)
	first, err := api.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: alice, View: homeView(100)})
	if err != nil {
		t.Fatalf("100 blocks: %v", err)
	}
	if _, err := api.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: alice, View: homeView(101)}); err == nil || !strings.Contains(err.Error(), "invalid_blocks") {
		t.Errorf("101 blocks: %v, want invalid_blocks", err)
	}
	hash := first.Hash
	second, err := api.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: alice, View: homeView(1), Hash: &hash})
	if err != nil || second.ID != first.ID {
		t.Fatalf("republish with the current hash: %v, id %s then %s", err, first.ID, second.ID)
	}
	if _, err := api.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: alice, View: homeView(2), Hash: &hash}); err == nil || !strings.Contains(err.Error(), "hash_conflict") {
		t.Errorf("stale hash: %v, want hash_conflict", err)
	}
	modal := homeView(1)
	modal.Type = slack.VTModal
	if _, err := api.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: alice, View: modal}); err == nil || !strings.Contains(err.Error(), "invalid_arguments") {
		t.Errorf("a modal published: %v, want invalid_arguments", err)
	}
	v, ok := fake.Home(alice)
	if !ok || !strings.Contains(string(v.View), "release 0") || strings.Contains(string(v.View), "release 1") {
		t.Errorf("home after the refusals: %s", v.View)
	}
	if _, err := newAPI(newFake(t, slacktest.Options{NoHomeTab: true})).PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: alice, View: homeView(1)}); err == nil || !strings.Contains(err.Error(), "not_enabled") {
		t.Errorf("home tab disabled: %v, want not_enabled", err)
	}
}

// TestOpenHomeDecodesAsSlackGoAppHomeOpened: the event reaches slack-go's
// Socket Mode client as an events_api envelope whose event_callback holds
// an app_home_opened of the user, in their DM with the app, tab "home" —
// without a view the first time, with the published view (its id and
// hash) after a views.publish, as https://api.slack.com/events/app_home_opened
// describes. Without a Home tab it cannot be opened.
func TestOpenHomeDecodesAsSlackGoAppHomeOpened(t *testing.T) {
	fake := newFake(t, slacktest.Options{})
	sm := connected(t, fake)
	api := newAPI(fake)

	opened := func() *slackevents.AppHomeOpenedEvent {
		t.Helper()
		id, err := fake.OpenHome(alice)
		if err != nil {
			t.Fatal(err)
		}
		ev := waitEvent(t, sm, socketmode.EventTypeEventsAPI)
		if ev.Request.EnvelopeID != id || ev.Request.AcceptsResponsePayload {
			t.Errorf("request = %+v", ev.Request)
		}
		outer := ev.Data.(slackevents.EventsAPIEvent)
		if outer.Type != slackevents.CallbackEvent || outer.TeamID != "T0SLACKTEST" {
			t.Errorf("outer event = %+v", outer)
		}
		if cb, ok := outer.Data.(*slackevents.EventsAPICallbackEvent); !ok || cb.EventID == "" {
			t.Errorf("callback = %+v, want an event_id", outer.Data)
		}
		inner, ok := outer.InnerEvent.Data.(*slackevents.AppHomeOpenedEvent)
		if !ok {
			t.Fatalf("inner event = %T", outer.InnerEvent.Data)
		}
		ack(t, sm, ev, nil)
		return inner
	}
	first := opened()
	if first.User != alice || first.Tab != "home" || !strings.HasPrefix(first.Channel, "D") || first.View != nil {
		t.Errorf("first opening = %+v", first)
	}
	pub, err := api.PublishViewContext(ctxT(t), slack.PublishViewContextRequest{UserID: alice, View: homeView(2)})
	if err != nil {
		t.Fatal(err)
	}
	second := opened()
	if second.Channel != first.Channel || second.View == nil || second.View.ID != pub.ID || second.View.Hash != pub.Hash ||
		second.View.Type != slack.VTHomeTab || len(second.View.Blocks.BlockSet) != 2 {
		t.Errorf("second opening = %+v, view %+v", second, second.View)
	}
	if _, err := newFake(t, slacktest.Options{NoHomeTab: true}).OpenHome(alice); err == nil {
		t.Error("a Home tab opened without one")
	}
}

// TestHomeActionHasAViewContainerAndNoResponseURL: a click on a Home tab's
// button reaches slack-go as block_actions with a container of type view
// naming the Home's view id, the view itself, the button's block id and
// value, a trigger_id, and neither a response_url nor a channel (Slack
// sends neither for the Home tab:
// https://api.slack.com/reference/interaction-payloads/block-actions).
func TestHomeActionHasAViewContainerAndNoResponseURL(t *testing.T) {
	fake := newFake(t, slacktest.Options{})
	sm := connected(t, fake)
	api := newAPI(fake)
	if _, err := fake.HomeAction(slacktest.HomeAction{UserID: alice, ActionID: "approve"}); err == nil {
		t.Error("a click on a Home never published")
	}
	view := slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: append(approvalBlocks("first"), approvalBlocks("second")...)}}
	pub, err := api.PublishViewContext(ctxT(t), slack.PublishViewContextRequest{UserID: alice, View: view})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fake.HomeAction(slacktest.HomeAction{UserID: alice, ActionID: "nope"}); err == nil {
		t.Error("a click on an element the Home does not have")
	}
	id, err := fake.HomeAction(slacktest.HomeAction{UserID: alice, ActionID: "approve", BlockID: "second"})
	if err != nil {
		t.Fatal(err)
	}
	ev := waitEvent(t, sm, socketmode.EventTypeInteractive)
	cb := ev.Data.(slack.InteractionCallback)
	if ev.Request.EnvelopeID != id || cb.Type != slack.InteractionTypeBlockActions || cb.User.ID != alice {
		t.Fatalf("callback = %+v", cb)
	}
	if cb.Container.Type != "view" || cb.Container.ViewID != pub.ID || cb.View.ID != pub.ID || cb.View.Type != slack.VTHomeTab || cb.View.Hash != pub.Hash {
		t.Errorf("container %+v, view id %s type %s", cb.Container, cb.View.ID, cb.View.Type)
	}
	if cb.ResponseURL != "" || cb.Channel.ID != "" || cb.TriggerID == "" {
		t.Errorf("response_url %q, channel %q, trigger %q", cb.ResponseURL, cb.Channel.ID, cb.TriggerID)
	}
	acts := cb.ActionCallback.BlockActions
	if len(acts) != 1 || acts[0].BlockID != "second" || acts[0].Value != "rel-42@sha256:abc" || acts[0].ActionID != "approve" {
		t.Errorf("actions = %+v", acts)
	}
	ack(t, sm, ev, nil)
}
