package slackbot_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/release-bot/release-bot/internal/retry"
	"github.com/release-bot/release-bot/internal/secret"
	"github.com/release-bot/release-bot/internal/slackbot"
	"github.com/release-bot/release-bot/internal/slackbot/slacktest"
)

// requests records what APIOptions.Observe was told.
type requests struct {
	mu  sync.Mutex
	got []string
}

func (r *requests) observe(method string, status int, _ time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, method+" "+http.StatusText(status))
}

func (r *requests) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// newAPI is an API on the fake whose retries do not sleep.
func newAPI(t *testing.T, fake *slacktest.Server, rec *requests) *slackbot.API {
	t.Helper()
	o := fake.Options()
	return slackbot.NewAPI(slackbot.APIOptions{
		BotToken: secret.New(o.BotToken), AppToken: secret.New(o.AppToken), APIURL: fake.APIURL(),
		Retry:   retry.Policy{Attempts: 4, Base: time.Millisecond, Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }},
		Observe: rec.observe,
	})
}

// TestAPIDoesNotRepeatAPostThatMayHaveLanded: a 5xx may come after Slack
// posted, so chat.postMessage, chat.postEphemeral and a response_url are
// sent once; a 429 (Slack did nothing) is retried, and so is chat.update's
// 5xx, which sets the same text again. Every request is observed by its
// method, a response_url as "response_url".
func TestAPIDoesNotRepeatAPostThatMayHaveLanded(t *testing.T) {
	fake := slacktest.Start(t, slacktest.Options{})
	fake.AddChannel("C0RELEASES", "releases")
	fake.AddUser(slacktest.User{ID: "U0ALICE", Name: "alice"})
	rec := &requests{}
	api := newAPI(t, fake, rec)
	ctx := t.Context()

	fake.Fail("chat.postMessage", 1, http.StatusBadGateway)
	if _, err := api.PostMessage(ctx, "C0RELEASES", "", "once", nil); err == nil {
		t.Error("a 502 on chat.postMessage was not returned")
	}
	if n := len(fake.Calls("chat.postMessage")); n != 1 {
		t.Errorf("chat.postMessage sent %d times after a 502, want 1", n)
	}
	fake.Fail("chat.postEphemeral", 1, http.StatusServiceUnavailable)
	if err := api.PostEphemeral(ctx, "C0RELEASES", "U0ALICE", "once", nil); err == nil {
		t.Error("a 503 on chat.postEphemeral was not returned")
	}
	fake.RateLimit("chat.postMessage", 1, time.Second)
	ts, err := api.PostMessage(ctx, "C0RELEASES", "", "after a 429", nil)
	if err != nil {
		t.Fatalf("a 429 then ok: %v", err)
	}
	fake.Fail("chat.update", 1, http.StatusBadGateway)
	if err := api.UpdateMessage(ctx, "C0RELEASES", ts, "updated", nil); err != nil {
		t.Errorf("chat.update after one 502: %v", err)
	}

	var hooks atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hooks.Add(1)
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer hook.Close()
	if err := api.Respond(ctx, hook.URL+"/actions/T0/1/SECRET", &slack.WebhookMessage{Text: "once"}); err == nil {
		t.Error("a 502 on a response_url was not returned")
	}
	if n := hooks.Load(); n != 1 {
		t.Errorf("response_url posted %d times after a 502, want 1", n)
	}

	want := []string{
		"chat.postMessage Bad Gateway",
		"chat.postEphemeral Service Unavailable",
		"chat.postMessage Too Many Requests", "chat.postMessage OK",
		"chat.update Bad Gateway", "chat.update OK",
		"response_url Bad Gateway",
	}
	if got := rec.list(); !slices.Equal(got, want) {
		t.Errorf("observed\n%q\nwant\n%q", got, want)
	}
}
