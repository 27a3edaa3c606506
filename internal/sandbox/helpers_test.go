package sandbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/release-bot/release-bot/internal/sandbox"
	"github.com/release-bot/release-bot/internal/slackbot/slacktest"
)

// Fixtures shared by the tests.
const (
	channelID = "C0RELEASES"
	alice     = "U0ALICE" // the proposer
	bob       = "U0BOB"   // an approver
	carol     = "U0CAROL" // an approver
	gus       = "U0GUS"   // a guest
)

// timeout bounds every wait; generous, since tests never measure time.
const timeout = 20 * time.Second

var users = []sandbox.User{
	{ID: alice, Name: "alice", Role: sandbox.RoleProposer},
	{ID: bob, Name: "bob", Role: sandbox.RoleApprover},
	{ID: carol, Name: "carol", Role: sandbox.RoleApprover},
	{ID: gus, Name: "gus", Role: sandbox.RoleGuest},
}

// env is a fake Slack with the release channel, the page mounted on a real
// server as the bot's HTTP server mounts it, and a client playing the bot.
type env struct {
	fake *slacktest.Server
	api  *slack.Client
	page string // the page's URL, ending in /sandbox/
}

// start builds an env. With a bot, a Socket Mode client is connected that
// acks every envelope and hands it to the test on the returned channel.
// opts adjust the Page before it is mounted.
func start(t testing.TB, withBot bool, opts ...func(*sandbox.Page)) (*env, <-chan socketmode.Event) {
	t.Helper()
	fake := slacktest.Start(t, slacktest.Options{})
	fake.AddChannel(channelID, "releases")
	for _, u := range users {
		fake.AddUser(slacktest.User{ID: u.ID, Name: u.Name, IsRestricted: u.Role == sandbox.RoleGuest})
	}
	p := &sandbox.Page{Slack: fake, Channel: channelID, ChannelName: "releases", Users: users, Logger: zerolog.New(zerolog.NewTestWriter(t))}
	for _, o := range opts {
		o(p)
	}
	mux := http.NewServeMux()
	mux.Handle("/healthz", http.NotFoundHandler()) // the bot's own routes live beside the page
	mux.Handle(sandbox.Prefix, p.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	o := fake.Options()
	e := &env{
		fake: fake,
		api:  slack.New(o.BotToken, slack.OptionAPIURL(fake.APIURL()), slack.OptionAppLevelToken(o.AppToken)),
		page: srv.URL + sandbox.Prefix,
	}
	if !withBot {
		return e, nil
	}
	return e, e.runBot(t)
}

// runBot connects a real socketmode client that acks every request, as the
// bot does first thing, and hands the requests on.
func (e *env) runBot(t testing.TB) <-chan socketmode.Event {
	t.Helper()
	sm := socketmode.New(e.api)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sm.RunContext(ctx) }()
	got := make(chan socketmode.Event, 100)
	hello := make(chan struct{})
	served := make(chan struct{})
	go func() {
		defer close(served)
		saidHello := false
		for {
			select {
			case ev := <-sm.Events:
				switch ev.Type {
				case socketmode.EventTypeHello:
					if !saidHello {
						saidHello = true
						close(hello)
					}
				case socketmode.EventTypeSlashCommand, socketmode.EventTypeInteractive, socketmode.EventTypeEventsAPI:
					actx, acancel := context.WithTimeout(ctx, timeout)
					_ = sm.AckCtx(actx, ev.Request.EnvelopeID, nil)
					acancel()
					got <- ev
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		<-served
	})
	select {
	case <-hello:
	case <-time.After(timeout):
		t.Fatal("the bot's socket never said hello")
	}
	return got
}

// next returns the next request the bot got.
func next(t testing.TB, got <-chan socketmode.Event) socketmode.Event {
	t.Helper()
	select {
	case ev := <-got:
		return ev
	case <-time.After(timeout):
		t.Fatal("the bot got nothing")
		return socketmode.Event{}
	}
}

// post posts a message as the bot and returns its ts.
func (e *env) post(t testing.TB, opts ...slack.MsgOption) string {
	t.Helper()
	_, ts, err := e.api.PostMessage(channelID, opts...)
	if err != nil {
		t.Fatalf("posting: %v", err)
	}
	return ts
}

// postJSON posts body (a value, or raw bytes) to the page's API.
func (e *env) postJSON(t testing.TB, path string, body any) (int, map[string]any) {
	t.Helper()
	raw, ok := body.([]byte)
	if !ok {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			t.Fatal(err)
		}
	}
	res, err := http.Post(e.page+path, "application/json", bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	if res.StatusCode != http.StatusNoContent {
		if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
			t.Fatalf("POST %s answered %d with no JSON: %v", path, res.StatusCode, err)
		}
	}
	return res.StatusCode, out
}

// envelope returns the fake's record of an envelope the page had sent.
func (e *env) envelope(t testing.TB, answer map[string]any) slacktest.Envelope {
	t.Helper()
	id, _ := answer["envelope_id"].(string)
	env, ok := e.fake.Envelope(id)
	if !ok {
		t.Fatalf("the fake sent no envelope %q (answer %v)", id, answer)
	}
	return env
}

// releaseBlocks is a release message as the bot posts it: a header, a
// section with a link and mentions, fields, context, a divider and the
// Approve (with a confirm dialog) and Reject buttons.
func releaseBlocks(title string) []slack.Block {
	approve := slack.NewButtonBlockElement("release_approve", "prod-7 sha256:abc",
		slack.NewTextBlockObject(slack.PlainTextType, "Approve", false, false)).WithStyle(slack.StylePrimary)
	approve.Confirm = slack.NewConfirmationBlockObject(
		slack.NewTextBlockObject(slack.PlainTextType, "Approve prod-7?", false, false),
		slack.NewTextBlockObject(slack.MarkdownType, "You approve exactly manifest `sha256:abc`.", false, false),
		slack.NewTextBlockObject(slack.PlainTextType, "Approve", false, false),
		slack.NewTextBlockObject(slack.PlainTextType, "Cancel", false, false),
	)
	reject := slack.NewButtonBlockElement("release_reject", "prod-7 sha256:abc",
		slack.NewTextBlockObject(slack.PlainTextType, "Reject", false, false)).WithStyle(slack.StyleDanger)
	md := func(s string) *slack.TextBlockObject {
		return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
	}
	return []slack.Block{
		slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, title, true, false)),
		slack.NewContextBlock("", md(":hourglass: *Waiting for approval (0 of 2)*"), md("proposed by <@"+alice+">")),
		slack.NewSectionBlock(md("• *web*  `1a2b3c4` → <https://github.com/cyber-dojo/web/commit/5d6e7f8|`5d6e7f8`> · <https://github.com/cyber-dojo/web/compare/1a2b3c4...5d6e7f8|compare> · :white_check_mark: aws-beta"), nil, nil),
		slack.NewSectionBlock(nil, []*slack.TextBlockObject{md("*Pipeline*\nprod"), md("*Approvers*\n<!subteam^S0RM|@release-managers>")}, nil),
		slack.NewDividerBlock(),
		slack.NewSectionBlock(md("*Approval*: 2 approvals from <!subteam^S0RM|@release-managers> or <@"+carol+">; expires <!date^1767225600^{date_short_pretty} {time}|2026-01-01 00:00 UTC>."), nil, nil),
		slack.NewActionBlock("release:prod-7:v1", approve, reject),
	}
}

// rejectDialog is the bot's reject dialog (commands.rejectDialog).
func rejectDialog() slack.ModalViewRequest {
	input := slack.NewPlainTextInputBlockElement(slack.NewTextBlockObject(slack.PlainTextType, "Why is it rejected?", false, false), "reason")
	input.Multiline = true
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      "release_reject_reason",
		PrivateMetadata: "prod-7 sha256:abc",
		Title:           slack.NewTextBlockObject(slack.PlainTextType, "Reject release", false, false),
		Submit:          slack.NewTextBlockObject(slack.PlainTextType, "Reject", false, false),
		Close:           slack.NewTextBlockObject(slack.PlainTextType, "Cancel", false, false),
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "Reject release `prod-7`? One rejection ends it.", false, false), nil, nil),
			slack.NewInputBlock("reason", slack.NewTextBlockObject(slack.PlainTextType, "Reason", false, false), nil, input),
		}},
	}
}

// openRejectDialog clicks Reject as the user through the page, and opens
// the dialog on the click's trigger as the bot does; it returns the view id.
func (e *env) openRejectDialog(t testing.TB, got <-chan socketmode.Event, user, ts string) string {
	t.Helper()
	code, answer := e.postJSON(t, "click", map[string]string{"user": user, "ts": ts, "action_id": "release_reject"})
	if code != http.StatusAccepted {
		t.Fatalf("click: %d %v", code, answer)
	}
	ev := next(t, got)
	cb, ok := ev.Data.(slack.InteractionCallback)
	if !ok {
		t.Fatalf("the bot got %T, not a click", ev.Data)
	}
	v, err := e.api.OpenView(cb.TriggerID, rejectDialog())
	if err != nil {
		t.Fatalf("views.open: %v", err)
	}
	return v.ID
}

// interaction decodes an interactive envelope as the bot reads it.
func interaction(t testing.TB, env slacktest.Envelope) slack.InteractionCallback {
	t.Helper()
	if env.Type != "interactive" {
		t.Fatalf("envelope type %q, want interactive", env.Type)
	}
	var cb slack.InteractionCallback
	if err := json.Unmarshal(env.Payload, &cb); err != nil {
		t.Fatalf("decoding %s: %v", env.Payload, err)
	}
	return cb
}
