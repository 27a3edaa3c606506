package slacktest_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/release-bot/release-bot/internal/slackbot/slacktest"
)

func TestConversationsRepliesPagesThroughAThread(t *testing.T) {
	fake := newFake(t, slacktest.Options{})
	api := newAPI(fake)
	ctx := ctxT(t)
	_, parent, err := api.PostMessageContext(ctx, channelID, slack.MsgOptionText("Release 42", false))
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"web deployed", "api deployed", "db deployed"} {
		if _, _, err := api.PostMessageContext(ctx, channelID, slack.MsgOptionText(text, false), slack.MsgOptionTS(parent)); err != nil {
			t.Fatal(err)
		}
	}
	var texts []string
	cursor, pages := "", 0
	for {
		msgs, more, next, err := api.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{
			ChannelID: channelID, Timestamp: parent, Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, m := range msgs {
			if m.BotID == "" {
				t.Errorf("%q is not the bot's", m.Text)
			}
			texts = append(texts, m.Text)
		}
		if !more {
			break
		}
		cursor = next
	}
	if got := strings.Join(texts, "|"); got != "Release 42|web deployed|api deployed|db deployed" || pages != 2 {
		t.Errorf("%d pages: %s", pages, got)
	}
	if _, _, _, err := api.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{ChannelID: channelID, Timestamp: "1.000001"}); err == nil ||
		!strings.Contains(err.Error(), "thread_not_found") {
		t.Errorf("an unknown thread: %v", err)
	}
}

// A call held before it takes effect, whose client gives up, has no effect;
// one held after it takes effect is in the channel though its answer never came.
func TestHoldBeforeAndAfterACallTakesEffect(t *testing.T) {
	for _, after := range []bool{false, true} {
		fake := newFake(t, slacktest.Options{})
		api := newAPI(fake)
		held, release := fake.Hold("chat.postMessage", func(v url.Values) bool { return v.Get("text") == "held" }, after)
		ctx, cancel := context.WithTimeout(ctxT(t), 300*time.Millisecond)
		done := make(chan error, 1)
		go func() {
			_, _, err := api.PostMessageContext(ctx, channelID, slack.MsgOptionText("held", false))
			done <- err
		}()
		<-held
		if _, _, err := api.PostMessageContext(ctxT(t), channelID, slack.MsgOptionText("not held", false)); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err == nil {
			t.Errorf("after %v: the held call was answered", after)
		}
		cancel()
		release()
		n := 0
		for _, m := range fake.Messages(channelID) {
			if m.Text == "held" {
				n++
			}
		}
		if want := map[bool]int{false: 0, true: 1}[after]; n != want {
			t.Errorf("after %v: %d held messages in the channel, want %d", after, n, want)
		}
	}
}
