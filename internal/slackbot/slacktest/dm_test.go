package slacktest_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/release-bot/release-bot/internal/slackbot/slacktest"
)

// slackErr is the error code of a failed Web API call.
func slackErr(err error) string {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	return ""
}

// TestConversationsOpenThenPostADirectMessage: conversations.open as Slack
// documents it (https://api.slack.com/methods/conversations.open: users is
// a comma-separated list of 1 to 8 user ids, the answer's channel.id a D…
// id, the same one again with already_open). The client is slack-go's
// OpenConversationContext (conversation.go), which sends users joined by
// "," and return_im. Posting to a D… channel nobody opened is
// channel_not_found, as for any channel the bot cannot see.
func TestConversationsOpenThenPostADirectMessage(t *testing.T) {
	fake := newFake(t, slacktest.Options{})
	api := newAPI(fake)
	ctx := ctxT(t)

	ch, noOp, already, err := api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{alice}})
	if err != nil || ch == nil || !strings.HasPrefix(ch.ID, "D") || noOp || already {
		t.Fatalf("open = %+v %v %v %v", ch, noOp, already, err)
	}
	again, _, already, err := api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{alice}})
	if err != nil || again.ID != ch.ID || !already {
		t.Errorf("opened again = %+v already=%v %v, want %s already open", again, already, err, ch.ID)
	}
	resumed, _, _, err := api.OpenConversationContext(ctx, &slack.OpenConversationParameters{ChannelID: ch.ID})
	if err != nil || resumed.ID != ch.ID {
		t.Errorf("resumed = %+v %v", resumed, err)
	}
	if _, _, err := api.PostMessageContext(ctx, ch.ID, slack.MsgOptionText("a release waits for you", false)); err != nil {
		t.Fatal(err)
	}
	if dms := fake.DMs(alice); len(dms) != 1 || dms[0].Text != "a release waits for you" || dms[0].Channel != ch.ID {
		t.Errorf("alice's DMs = %+v", dms)
	}
	if dms := fake.DMs(bob); len(dms) != 0 {
		t.Errorf("bob's DMs = %+v", dms)
	}
	if _, _, err := api.PostMessageContext(ctx, "D0NEVEROPEN", slack.MsgOptionText("hi", false)); slackErr(err) != "channel_not_found" {
		t.Errorf("post to an unopened DM: %v, want channel_not_found", err)
	}

	fake.AddUser(slacktest.User{ID: "U0GONE", Name: "gone", Deleted: true})
	for _, tc := range []struct {
		params slack.OpenConversationParameters
		want   string
	}{
		{slack.OpenConversationParameters{Users: []string{"U0NOBODY"}}, "user_not_found"},
		{slack.OpenConversationParameters{Users: []string{"U0GONE"}}, "user_disabled"},
		{slack.OpenConversationParameters{Users: []string{}}, "users_list_not_supplied"},
		{slack.OpenConversationParameters{}, "users_list_not_supplied"},
		{slack.OpenConversationParameters{ChannelID: "D0NEVEROPEN"}, "channel_not_found"},
		{slack.OpenConversationParameters{Users: strings.Split("U1,U2,U3,U4,U5,U6,U7,U8,U9", ",")}, "too_many_users"},
		{slack.OpenConversationParameters{Users: []string{alice, bob}}, "slacktest_mpim_not_supported"},
	} {
		if _, _, _, err := api.OpenConversationContext(ctx, &tc.params); slackErr(err) != tc.want {
			t.Errorf("open %+v: %v, want %s", tc.params, err, tc.want)
		}
	}
}

// TestConversationsOpenNeedsIMWrite: a bot token without im:write cannot
// open a DM (missing_scope), as in Slack's scope table for conversations.open.
func TestConversationsOpenNeedsIMWrite(t *testing.T) {
	fake := newFake(t, slacktest.Options{MissingScopes: []string{"im:write"}})
	_, _, _, err := newAPI(fake).OpenConversationContext(ctxT(t), &slack.OpenConversationParameters{Users: []string{alice}})
	if slackErr(err) != "missing_scope" {
		t.Errorf("open without im:write: %v, want missing_scope", err)
	}
}

// TestGetPermalink: chat.getPermalink links a message that exists, in
// Slack's forms (https://api.slack.com/methods/chat.getPermalink): a
// top-level message, and a reply with thread_ts and cid. slack-go's
// GetPermalinkContext (chat.go) sends channel and message_ts.
func TestGetPermalink(t *testing.T) {
	fake := newFake(t, slacktest.Options{TeamDomain: "acme"})
	api := newAPI(fake)
	ctx := ctxT(t)
	_, ts, err := api.PostMessageContext(ctx, channelID, slack.MsgOptionText("Release 42", false))
	if err != nil {
		t.Fatal(err)
	}
	_, reply, err := api.PostMessageContext(ctx, channelID, slack.MsgOptionText("deployed", false), slack.MsgOptionTS(ts))
	if err != nil {
		t.Fatal(err)
	}
	link, err := api.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: channelID, Ts: ts})
	if want := "https://acme.slack.com/archives/" + channelID + "/p" + strings.ReplaceAll(ts, ".", ""); err != nil || link != want {
		t.Errorf("permalink = %q %v, want %q", link, err, want)
	}
	link, err = api.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: channelID, Ts: reply})
	if !strings.HasSuffix(link, "/p"+strings.ReplaceAll(reply, ".", "")+"?thread_ts="+ts+"&cid="+channelID) || err != nil {
		t.Errorf("reply's permalink = %q %v", link, err)
	}
	if link != fake.Permalink(channelID, reply) {
		t.Errorf("Server.Permalink = %q, want %q", fake.Permalink(channelID, reply), link)
	}
	if _, err := api.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: channelID, Ts: "1.000001"}); slackErr(err) != "message_not_found" {
		t.Errorf("permalink of no message: %v", err)
	}
	if _, err := api.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: "C0NOWHERE", Ts: ts}); slackErr(err) != "channel_not_found" {
		t.Errorf("permalink in no channel: %v", err)
	}
}
