package slacktest_test

import (
	"context"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/release-bot/release-bot/internal/slackbot/slacktest"
)

// Fixtures shared by the tests.
const (
	channelID = "C0RELEASES"
	alice     = "U0ALICE"
	bob       = "U0BOB"
	guest     = "U0GUEST"
)

// timeout bounds every wait; generous, since tests never measure time.
const timeout = 15 * time.Second

// newFake starts a fake with a channel and three users.
func newFake(t testing.TB, opts slacktest.Options) *slacktest.Server {
	t.Helper()
	fake := slacktest.Start(t, opts)
	fake.AddChannel(channelID, "releases")
	fake.AddUser(slacktest.User{ID: alice, Name: "alice"})
	fake.AddUser(slacktest.User{ID: bob, Name: "bob"})
	fake.AddUser(slacktest.User{ID: guest, Name: "gus", IsRestricted: true})
	return fake
}

// newAPI returns a real slack-go client pointed at the fake.
func newAPI(fake *slacktest.Server, opts ...slack.Option) *slack.Client {
	o := fake.Options()
	return slack.New(o.BotToken, append([]slack.Option{
		slack.OptionAPIURL(fake.APIURL()),
		slack.OptionAppLevelToken(o.AppToken),
	}, opts...)...)
}

// ctxT returns a context that ends after timeout or with the test.
func ctxT(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	t.Cleanup(cancel)
	return ctx
}

// runSocket runs a real socketmode client against the fake until the test
// ends; the test reads its Events.
func runSocket(t testing.TB, fake *slacktest.Server) *socketmode.Client {
	t.Helper()
	sm := socketmode.New(newAPI(fake))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sm.RunContext(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return sm
}

// waitEvent returns the next event of the type, skipping others.
func waitEvent(t *testing.T, sm *socketmode.Client, typ socketmode.EventType) socketmode.Event {
	t.Helper()
	ctx := ctxT(t)
	for {
		select {
		case e := <-sm.Events:
			if e.Type == typ {
				return e
			}
			t.Logf("event %s %+v (waiting for %s)", e.Type, e.Data, typ)
		case <-ctx.Done():
			t.Fatalf("no %s event: %v", typ, ctx.Err())
		}
	}
}

// connected runs a client and waits until the fake has sent it hello.
func connected(t *testing.T, fake *slacktest.Server) *socketmode.Client {
	t.Helper()
	sm := runSocket(t, fake)
	waitEvent(t, sm, socketmode.EventTypeHello)
	return sm
}

// waitFor fails the test unless pred comes to hold.
func waitFor(t testing.TB, fake *slacktest.Server, what string, pred func(*slacktest.State) bool) {
	t.Helper()
	if err := fake.WaitFor(ctxT(t), pred); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// ack acknowledges an event's envelope the way the bot must: AckCtx with a
// short timeout.
func ack(t *testing.T, sm *socketmode.Client, e socketmode.Event, payload any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	if err := sm.AckCtx(ctx, e.Request.EnvelopeID, payload); err != nil {
		t.Fatalf("ack: %v", err)
	}
}

// approvalBlocks is a message with an Approve button, as the bot posts it.
func approvalBlocks(blockID string) []slack.Block {
	approve := slack.NewButtonBlockElement("approve", "rel-42@sha256:abc",
		slack.NewTextBlockObject(slack.PlainTextType, "Approve", false, false)).WithStyle(slack.StylePrimary)
	return []slack.Block{
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "*Release 42* beta → prod", false, false), nil, nil),
		slack.NewActionBlock(blockID, approve),
	}
}

// serve hands every event of sm to handle on a goroutine that ends with the
// test, before the client is stopped.
func serve(t testing.TB, sm *socketmode.Client, handle func(socketmode.Event)) {
	t.Helper()
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case e := <-sm.Events:
				handle(e)
			case <-stop:
				return
			}
		}
	}()
	t.Cleanup(func() {
		close(stop)
		<-done
	})
}
