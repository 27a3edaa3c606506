package slacktest_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/release-bot/release-bot/internal/slackbot/slacktest"
)

func TestChatMessagesLandInTheChannel(t *testing.T) {
	fake := newFake(t, slacktest.Options{})
	api := newAPI(fake)
	ctx := ctxT(t)

	ch, ts, err := api.PostMessageContext(ctx, "#releases", slack.MsgOptionText("Release 42", false),
		slack.MsgOptionBlocks(approvalBlocks("rel-42-v1")...))
	if err != nil || ch != channelID || ts == "" {
		t.Fatalf("postMessage = %q %q %v", ch, ts, err)
	}
	_, reply, err := api.PostMessageContext(ctx, channelID, slack.MsgOptionText("api deployed", false), slack.MsgOptionTS(ts))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := api.UpdateMessageContext(ctx, channelID, ts, slack.MsgOptionText("Release 42: approved", false),
		slack.MsgOptionBlocks()); err != nil {
		t.Fatal(err)
	}
	eph, err := api.PostEphemeralContext(ctx, channelID, alice, slack.MsgOptionText("only you", false))
	if err != nil {
		t.Fatal(err)
	}

	msgs := fake.Messages(channelID)
	if len(msgs) != 1 || msgs[0].TS != ts || msgs[0].Text != "Release 42: approved" || !msgs[0].Edited ||
		msgs[0].Blocks != nil || msgs[0].User != fake.Options().BotUserID {
		t.Errorf("messages = %+v", msgs)
	}
	if th := fake.Thread(channelID, ts); len(th) != 1 || th[0].TS != reply || th[0].Text != "api deployed" {
		t.Errorf("thread = %+v", th)
	}
	if e := fake.Ephemerals(channelID, alice); len(e) != 1 || e[0].TS != eph || e[0].VisibleTo != alice || e[0].Text != "only you" {
		t.Errorf("alice's ephemerals = %+v", e)
	}
	if e := fake.Ephemerals(channelID, bob); len(e) != 0 {
		t.Errorf("bob sees %+v", e)
	}

	calls := fake.Calls("chat.postMessage")
	if len(calls) != 2 || calls[0].Values.Has("token") || !strings.Contains(calls[0].Values.Get("blocks"), `"rel-42-v1"`) ||
		calls[1].Values.Get("thread_ts") != ts {
		t.Errorf("recorded calls = %+v", calls)
	}

	if _, _, err := api.DeleteMessageContext(ctx, channelID, reply); err != nil {
		t.Fatal(err)
	}
	if th := fake.Thread(channelID, ts); len(th) != 0 {
		t.Errorf("deleted reply still shown: %+v", th)
	}
	if m, ok := fake.Message(channelID, reply); !ok || !m.Deleted {
		t.Errorf("deleted reply = %+v, %v", m, ok)
	}
}

func TestChatErrors(t *testing.T) {
	fake := newFake(t, slacktest.Options{})
	fake.AddChannel("C0QUIET", "quiet")
	fake.SetBotMember("C0QUIET", false)
	api := newAPI(fake)
	ctx := ctxT(t)
	eph, err := api.PostEphemeralContext(ctx, channelID, alice, slack.MsgOptionText("psst", false))
	if err != nil {
		t.Fatal(err)
	}
	tooMany := make([]slack.Block, 51)
	for i := range tooMany {
		tooMany[i] = slack.NewDividerBlock()
	}
	longHeader := slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, strings.Repeat("x", 151), false, false))

	for _, tc := range []struct {
		name string
		do   func() error
		want string
	}{
		{"unknown channel", func() error {
			_, _, err := api.PostMessageContext(ctx, "C0NOPE", slack.MsgOptionText("x", false))
			return err
		}, "channel_not_found"},
		{"bot not in channel", func() error {
			_, _, err := api.PostMessageContext(ctx, "C0QUIET", slack.MsgOptionText("x", false))
			return err
		}, "not_in_channel"},
		{"no text", func() error {
			_, _, err := api.PostMessageContext(ctx, channelID)
			return err
		}, "no_text"},
		{"51 blocks", func() error {
			_, _, err := api.PostMessageContext(ctx, channelID, slack.MsgOptionBlocks(tooMany...))
			return err
		}, "invalid_blocks"},
		{"header over 150", func() error {
			_, _, err := api.PostMessageContext(ctx, channelID, slack.MsgOptionBlocks(longHeader))
			return err
		}, "invalid_blocks"},
		{"update an ephemeral", func() error {
			_, _, _, err := api.UpdateMessageContext(ctx, channelID, eph, slack.MsgOptionText("x", false))
			return err
		}, "message_not_found"},
		{"ephemeral to a stranger", func() error {
			_, err := api.PostEphemeralContext(ctx, channelID, "U0NOBODY", slack.MsgOptionText("x", false))
			return err
		}, "user_not_in_channel"},
		{"wrong bot token", func() error {
			_, err := slack.New("xoxb-wrong", slack.OptionAPIURL(fake.APIURL())).AuthTestContext(ctx)
			return err
		}, "invalid_auth"},
		{"app token on the Web API", func() error {
			_, err := slack.New(fake.Options().AppToken, slack.OptionAPIURL(fake.APIURL())).AuthTestContext(ctx)
			return err
		}, "not_allowed_token_type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var se slack.SlackErrorResponse
			if err := tc.do(); !errors.As(err, &se) || se.Err != tc.want {
				t.Errorf("error = %v, want %s", err, tc.want)
			}
		})
	}
}

func TestRateLimitIsHonouredByRetry(t *testing.T) {
	fake := newFake(t, slacktest.Options{})
	fake.RateLimit("chat.postMessage", 1, time.Second)
	api := newAPI(fake, slack.OptionRetry(1))
	if _, _, err := api.PostMessageContext(ctxT(t), channelID, slack.MsgOptionText("hi", false)); err != nil {
		t.Fatal(err)
	}
	calls := fake.Calls("chat.postMessage")
	if len(calls) != 2 || calls[0].Status != http.StatusTooManyRequests || calls[1].Status != http.StatusOK {
		t.Errorf("calls = %+v, want a 429 then a 200", calls)
	}
	if len(fake.Messages(channelID)) != 1 {
		t.Errorf("messages = %+v", fake.Messages(channelID))
	}

	fake.RateLimit("chat.postMessage", 1, 1500*time.Millisecond)
	_, _, err := newAPI(fake).PostMessageContext(ctxT(t), channelID, slack.MsgOptionText("hi", false))
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != 2*time.Second {
		t.Errorf("without retries: %v, want RateLimitedError with Retry-After rounded up to 2s", err)
	}
}

func TestServerErrorIsStatusCodeError(t *testing.T) {
	fake := newFake(t, slacktest.Options{})
	fake.Fail("users.info", 1, http.StatusServiceUnavailable)
	api := newAPI(fake)
	_, err := api.GetUserInfoContext(ctxT(t), alice)
	var sc slack.StatusCodeError
	if !errors.As(err, &sc) || sc.Code != http.StatusServiceUnavailable || !sc.Retryable() {
		t.Fatalf("error = %#v, want a retryable StatusCodeError 503", err)
	}
	if _, err := api.GetUserInfoContext(ctxT(t), alice); err != nil {
		t.Errorf("second call: %v", err)
	}
}

func TestDelayEndsWithTheClient(t *testing.T) {
	fake := newFake(t, slacktest.Options{})
	fake.Delay("auth.test", time.Hour)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := newAPI(fake).AuthTestContext(ctx)
		errc <- err
	}()
	waitFor(t, fake, "the held call", func(st *slacktest.State) bool { return len(st.Calls("auth.test")) == 1 })
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want the context's", err)
	}
	fake.Delay("auth.test", 0)
	if _, err := newAPI(fake).AuthTestContext(ctxT(t)); err != nil {
		t.Error(err)
	}
}

func TestUsersAndGroups(t *testing.T) {
	fake := newFake(t, slacktest.Options{})
	fake.AddUsergroup("S0MANAGERS", "release-managers", alice, bob)
	api := newAPI(fake)
	ctx := ctxT(t)

	groups, err := api.GetUserGroupsContext(ctx)
	if err != nil || len(groups) != 1 || groups[0].Handle != "release-managers" || groups[0].UserCount != 2 || len(groups[0].Users) != 0 {
		t.Errorf("usergroups.list = %+v, %v; want no members without include_users", groups, err)
	}
	groups, err = api.GetUserGroupsContext(ctx, slack.GetUserGroupsOptionIncludeUsers(true))
	if err != nil || len(groups) != 1 || strings.Join(groups[0].Users, ",") != alice+","+bob {
		t.Errorf("usergroups.list include_users = %+v, %v", groups, err)
	}
	if got := fake.Calls("usergroups.list"); got[1].Values.Get("include_users") != "true" {
		t.Errorf("recorded %+v", got)
	}
	members, err := api.GetUserGroupMembersContext(ctx, "S0MANAGERS")
	if err != nil || strings.Join(members, ",") != alice+","+bob {
		t.Errorf("usergroups.users.list = %v, %v", members, err)
	}
	var se slack.SlackErrorResponse
	if _, err := api.GetUserGroupMembersContext(ctx, "@release-managers"); !errors.As(err, &se) || se.Err != "no_such_subteam" {
		t.Errorf("handle instead of id: %v", err)
	}

	u, err := api.GetUserInfoContext(ctx, guest)
	if err != nil || u.ID != guest || !u.IsRestricted || u.IsUltraRestricted || u.IsBot || u.Deleted || u.TeamID != "T0SLACKTEST" {
		t.Errorf("users.info guest = %+v, %v", u, err)
	}
	if _, err := api.GetUserInfoContext(ctx, "U0NOBODY"); !errors.As(err, &se) || se.Err != "user_not_found" {
		t.Errorf("unknown user: %v", err)
	}
	who, err := api.AuthTestContext(ctx)
	if err != nil || who.UserID != fake.Options().BotUserID || who.TeamID != "T0SLACKTEST" {
		t.Errorf("auth.test = %+v, %v", who, err)
	}

	free := newFake(t, slacktest.Options{FreePlan: true})
	if _, err := newAPI(free).GetUserGroupsContext(ctx); !errors.As(err, &se) || se.Err != "plan_upgrade_required" {
		t.Errorf("free plan: %v", err)
	}
}

// Slack refuses a message whose blocks hold more than ~12,000 characters of
// text in all, though every block is within its own limit: not in Slack's
// reference; reported in slackapi/bolt-js#2509 (~13,200 refused) and by Slack
// staff in slackapi/bolt-js#2867 ("12,000 text characters with a buffer").
func TestMessageBlockTextIsCappedInAll(t *testing.T) {
	fake := newFake(t, slacktest.Options{})
	api := newAPI(fake)
	ctx := ctxT(t)
	sections := func(n, each int) []slack.Block {
		var bs []slack.Block
		for range n {
			bs = append(bs, slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, strings.Repeat("é", each), false, false), nil, nil))
		}
		return bs
	}
	// 4 × 2,999 = 11,996 characters (not bytes: é is two): accepted.
	_, ts, err := api.PostMessageContext(ctx, channelID, slack.MsgOptionText("fits", false), slack.MsgOptionBlocks(sections(4, 2999)...))
	if err != nil {
		t.Fatalf("11,996 characters refused: %v", err)
	}
	// 5 × 2,401 = 12,005: every section fits, the message does not.
	_, _, err = api.PostMessageContext(ctx, channelID, slack.MsgOptionText("too long", false), slack.MsgOptionBlocks(sections(5, 2401)...))
	if err == nil || err.Error() != "msg_blocks_too_long" {
		t.Fatalf("postMessage of 12,005 characters = %v; want msg_blocks_too_long", err)
	}
	// chat.update is held to the same cap; button labels count too.
	bs := sections(4, 2999)
	bs = append(bs, slack.NewActionBlock("a", slack.NewButtonBlockElement("x", "v", slack.NewTextBlockObject(slack.PlainTextType, "Approve", false, false))))
	if _, _, _, err := api.UpdateMessageContext(ctx, channelID, ts, slack.MsgOptionText("too long", false), slack.MsgOptionBlocks(bs...)); err == nil ||
		err.Error() != "msg_blocks_too_long" {
		t.Fatalf("update of 12,003 characters = %v; want msg_blocks_too_long", err)
	}
	if msgs := fake.Messages(channelID); len(msgs) != 1 || msgs[0].Text != "fits" {
		t.Errorf("messages = %+v; want only the one that fits, unchanged", msgs)
	}
}

func TestLatencyHoldsEveryMethodUntilTurnedOff(t *testing.T) {
	fake := newFake(t, slacktest.Options{})
	fake.SetLatency(time.Hour)
	for _, call := range []func(context.Context) error{
		func(ctx context.Context) error { _, err := newAPI(fake).AuthTestContext(ctx); return err },
		func(ctx context.Context) error { _, err := newAPI(fake).GetUserInfoContext(ctx, alice); return err },
	} {
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		if err := call(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error = %v, want the call held past its deadline", err)
		}
		cancel()
	}
	fake.SetLatency(0)
	if _, err := newAPI(fake).AuthTestContext(ctxT(t)); err != nil {
		t.Error(err)
	}
}
