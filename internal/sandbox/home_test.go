package sandbox_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/release-bot/release-bot/internal/sandbox/sandboxtest"
)

// homeTab is a Home view as the bot publishes it: an entry and its buttons.
func homeTab(line string, buttons bool) slack.HomeTabViewRequest {
	blocks := []slack.Block{
		slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, "Waiting for your decision (1)", false, false)),
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, line, false, false), nil, nil, slack.SectionBlockOptionBlockID("home:prod-7:v1")),
	}
	if buttons {
		approve := slack.NewButtonBlockElement("release_approve", "prod-7 sha256:abc", slack.NewTextBlockObject(slack.PlainTextType, "Approve", false, false))
		approve.Style = slack.StylePrimary
		reject := slack.NewButtonBlockElement("release_reject", "prod-7 sha256:abc", slack.NewTextBlockObject(slack.PlainTextType, "Reject", false, false))
		reject.Style = slack.StyleDanger
		blocks = append(blocks, slack.NewActionBlock("home:release:prod-7:v1", approve, reject))
	}
	return slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: blocks}}
}

// TestHomeTabInChromium: the page's Home tab, in a real headless Chromium.
// Opening it sends app_home_opened for the user acting; what the bot
// publishes for them shows, live; a click on its button reaches the bot
// as a Home click (a view container, no response_url); switching user
// opens the new user's Home, and the channel is one click away.
func TestHomeTabInChromium(t *testing.T) {
	e, got := start(t, true)
	b := sandboxtest.NewBrowser(t)
	b.Open(e.page + "?user=" + bob)
	b.OpenHome()
	b.WaitHomeText("Opening the Home tab…")
	ev := next(t, got)
	opened, ok := ev.Data.(slackevents.EventsAPIEvent).InnerEvent.Data.(*slackevents.AppHomeOpenedEvent)
	if ev.Type != socketmode.EventTypeEventsAPI || !ok || opened.User != bob || opened.Tab != "home" {
		t.Fatalf("the bot got %s %+v", ev.Type, ev.Data)
	}
	if _, err := e.api.PublishView(bob, homeTab("*prod-7* · `prod` · from <@"+alice+">", true), ""); err != nil {
		t.Fatal(err)
	}
	b.WaitHomeText("Waiting for your decision (1)")
	b.WaitHomeText("prod-7 · prod · from @alice")
	if b.HasText("Waiting for your decision") {
		t.Error("the Home shows in the channel")
	}

	b.PressHome("prod-7", "Approve")
	cb := interaction(t, envelopeOf(t, e, next(t, got)))
	if a := cb.ActionCallback.BlockActions; cb.User.ID != bob || cb.Container.Type != "view" || cb.ResponseURL != "" || len(a) != 1 ||
		a[0].ActionID != "release_approve" || a[0].Value != "prod-7 sha256:abc" || a[0].BlockID != "home:release:prod-7:v1" {
		t.Errorf("the Home click the bot got: user %s container %+v actions %+v", cb.User.ID, cb.Container, a)
	}
	// The bot answers on the Home: the page follows.
	if _, err := e.api.PublishView(bob, homeTab(":ballot_box_with_check: Your approval of `prod-7` is counted.", false), ""); err != nil {
		t.Fatal(err)
	}
	b.WaitHomeText("☑️ Your approval of prod-7 is counted.")

	// carol on the Home tab: her own opening, not bob's Home.
	b.ActAs(carol)
	if ev := next(t, got); ev.Type != socketmode.EventTypeEventsAPI ||
		ev.Data.(slackevents.EventsAPIEvent).InnerEvent.Data.(*slackevents.AppHomeOpenedEvent).User != carol {
		t.Errorf("switching to carol on the Home tab sent %s %+v", ev.Type, ev.Data)
	}
	b.WaitHomeText("Opening the Home tab…")
	if b.HomeHasText("prod-7") {
		t.Error("carol sees bob's Home")
	}
	b.OpenChannel()
	b.Command("/release status")
	ev = next(t, got)
	for ev.Type == socketmode.EventTypeEventsAPI { // a reconnection of the page opens the Home again, as Slack's client does
		ev = next(t, got)
	}
	if cmd := slashCommand(t, e, ev); cmd.UserID != carol || cmd.Text != "status" {
		t.Errorf("the command after the Home: %+v", cmd)
	}
}

// TestHomeAPIRefusesWhatSlackWould: a click on an element not on the
// user's Home is refused with a sentence; an unknown user cannot open one.
func TestHomeAPIRefusesWhatSlackWould(t *testing.T) {
	e, _ := start(t, true)
	if code, body := e.postJSON(t, "home-click", map[string]string{"user": bob, "action_id": "release_approve"}); code != http.StatusNotFound ||
		!strings.Contains(body["error"].(string), "no longer on your Home tab") {
		t.Errorf("a click on no Home: %d %v", code, body)
	}
	if code, body := e.postJSON(t, "home-click", map[string]string{"user": bob}); code != http.StatusBadRequest {
		t.Errorf("a click without action_id: %d %v", code, body)
	}
	if code, body := e.postJSON(t, "home", map[string]string{"user": "U0NOBODY"}); code != http.StatusBadRequest {
		t.Errorf("an unknown user's Home: %d %v", code, body)
	}
	if code, body := e.postJSON(t, "home", map[string]string{"user": bob}); code != http.StatusAccepted {
		t.Errorf("bob's Home: %d %v", code, body)
	}
}
