package slackbot_test

import (
	"context"
	"encoding/json"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/release-bot/release-bot/internal/secret/secrettest"
	"github.com/release-bot/release-bot/internal/slackbot"
	"github.com/release-bot/release-bot/internal/slackbot/slacktest"
)

// timeout bounds every wait; generous, since the tests never measure time.
const timeout = 15 * time.Second

// commands records the slash commands the loop handed over.
type commands struct {
	mu   sync.Mutex
	seen []slack.SlashCommand
	got  chan struct{}
}

func newCommands() *commands { return &commands{got: make(chan struct{}, 16)} }

func (c *commands) Command(_ context.Context, cmd slack.SlashCommand) {
	c.mu.Lock()
	c.seen = append(c.seen, cmd)
	c.mu.Unlock()
	c.got <- struct{}{}
}

func (c *commands) Interaction(context.Context, slack.InteractionCallback) {}

// runLoop runs a Loop over a real socketmode client until the test ends and
// returns it with its captured log; done yields what Run returned.
func runLoop(t *testing.T, api *slack.Client, h slackbot.Handler) (loop *slackbot.Loop, log *secrettest.Log, done <-chan error) {
	t.Helper()
	log = &secrettest.Log{}
	loop, err := slackbot.New(slackbot.Options{
		Socket: socketmode.New(api), Handler: h, Drain: time.Second, Logger: zerolog.New(log),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran, finished := make(chan error, 1), make(chan struct{})
	go func() {
		defer close(finished)
		ran <- loop.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-finished
	})
	return loop, log, ran
}

// eventually polls cond until it holds or the timeout passes.
func eventually(cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cond()
}

// logLines decodes the captured log, one map per line.
func logLines(t *testing.T, log *secrettest.Log) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(log.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// findLine returns the first log line whose fields include want.
func findLine(t *testing.T, log *secrettest.Log, want map[string]any) (map[string]any, bool) {
	t.Helper()
	for _, m := range logLines(t, log) {
		match := true
		for k, v := range want {
			if m[k] != v {
				match = false
				break
			}
		}
		if match {
			return m, true
		}
	}
	return nil, false
}

// TestMalformedFramesAreAckedAndKeepReadiness (issue 21.4): frames that are
// not JSON leave the socket, and readiness, alone; envelopes with a bad
// payload or an unknown type are acked so that Slack stops redelivering
// them, and logged by type, id and length without their payload.
func TestMalformedFramesAreAckedAndKeepReadiness(t *testing.T) {
	fake := slacktest.Start(t, slacktest.Options{})
	fake.AddChannel("C0RELEASES", "releases")
	fake.AddUser(slacktest.User{ID: "U0ALICE", Name: "alice"})
	o := fake.Options()
	api := slack.New(o.BotToken, slack.OptionAPIURL(fake.APIURL()), slack.OptionAppLevelToken(o.AppToken))
	h := newCommands()
	loop, log, _ := runLoop(t, api, h)
	if !eventually(loop.Connected) {
		t.Fatal("never connected")
	}

	const hook = "https://hooks.slack.com/actions/T0/1/SECRETHOOK"
	for _, frame := range []string{"this is not json", "{also not json"} {
		if _, err := fake.SendRaw([]byte(frame)); err != nil {
			t.Fatal(err)
		}
	}
	// As a string, is_enterprise_install breaks slack-go's interactive decoding.
	badPayload, err := fake.SendRaw([]byte(`{"envelope_id":"e-bad-payload","type":"interactive","accepts_response_payload":false,` +
		`"payload":{"type":"block_actions","is_enterprise_install":"false","response_url":"` + hook + `","actions":[]}}`))
	if err != nil {
		t.Fatal(err)
	}
	unknown, err := fake.SendRaw([]byte(`{"envelope_id":"e-unknown-type","type":"workflow_step_v9",` +
		`"payload":{"response_url":"` + hook + `","token":"xoxb-leaked"}}`))
	if err != nil {
		t.Fatal(err)
	}
	good, err := fake.SlashCommand(slacktest.SlashCommand{ChannelID: "C0RELEASES", UserID: "U0ALICE", Text: "diff prod"})
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	if _, err := fake.WaitAck(ctx, good); err != nil {
		t.Fatalf("the good command after the bad frames: %v", err)
	}
	// The loop acks in the order it reads, and so the fake reads the acks.
	if got := fake.AckedIDs(); !slices.Equal(got, []string{badPayload, unknown, good}) {
		t.Errorf("acked %q, want %q", got, []string{badPayload, unknown, good})
	}
	select {
	case <-h.got:
	case <-ctx.Done():
		t.Fatal("the good command never reached the handler")
	}
	if !loop.Connected() {
		t.Error("not ready after frames that were not JSON, on a healthy socket")
	}

	for id, typ := range map[string]string{badPayload: "interactive", unknown: "workflow_step_v9"} {
		line, ok := findLine(t, log, map[string]any{"envelope_id": id})
		if !ok {
			t.Errorf("no log line for %s:\n%s", id, log)
			continue
		}
		if line["type"] != typ || line["length"] == nil || line["acked"] != true || line["cause"] == "" {
			t.Errorf("log line for %s = %v", id, line)
		}
	}
	if _, ok := findLine(t, log, map[string]any{"event": string(socketmode.EventTypeIncomingError), "level": "warn"}); !ok {
		t.Errorf("no warning for the frames that are not JSON:\n%s", log)
	}
	secrettest.AssertAbsent(t, []string{"SECRETHOOK", "hooks.slack.com", "xoxb-leaked", "is not json", o.AppToken, o.BotToken}, log.String())
}

// TestConnectionErrorNamesTheLikelyVariable (issue 20.5): a connection
// error is logged with its cause and backoff and the setting it most
// likely points at.
func TestConnectionErrorNamesTheLikelyVariable(t *testing.T) {
	t.Run("host cannot be reached", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		api := slack.New("xoxb-unused", slack.OptionAPIURL("http://"+addr+"/api/"), slack.OptionAppLevelToken("xapp-unused"))
		_, log, _ := runLoop(t, api, newCommands())
		want := map[string]any{"event": string(socketmode.EventTypeConnectionError), "suspect": "SLACK_API_URL"}
		if !eventually(func() bool { _, ok := findLine(t, log, want); return ok }) {
			t.Fatalf("no connection error naming SLACK_API_URL:\n%s", log)
		}
		line, _ := findLine(t, log, want)
		if e, _ := line["error"].(string); !strings.Contains(e, addr) || line["backoff"] == nil || line["attempt"] == nil {
			t.Errorf("connection error line without its cause or backoff: %v", line)
		}
		secrettest.AssertAbsent(t, []string{"xoxb-unused", "xapp-unused"}, log.String())
	})

	t.Run("token refused", func(t *testing.T) {
		fake := slacktest.Start(t, slacktest.Options{})
		o := fake.Options()
		// A bot token where the app-level token belongs: Slack answers
		// not_allowed_token_type, which slack-go retries for ever.
		api := slack.New(o.BotToken, slack.OptionAPIURL(fake.APIURL()), slack.OptionAppLevelToken(o.BotToken))
		_, log, _ := runLoop(t, api, newCommands())
		want := map[string]any{"event": string(socketmode.EventTypeConnectionError), "suspect": "SLACK_APP_TOKEN",
			"error": "not_allowed_token_type"}
		if !eventually(func() bool { _, ok := findLine(t, log, want); return ok }) {
			t.Fatalf("no connection error naming SLACK_APP_TOKEN:\n%s", log)
		}
		secrettest.AssertAbsent(t, []string{o.BotToken, o.AppToken}, log.String())
	})

	t.Run("token invalid", func(t *testing.T) {
		fake := slacktest.Start(t, slacktest.Options{})
		o := fake.Options()
		api := slack.New(o.BotToken, slack.OptionAPIURL(fake.APIURL()), slack.OptionAppLevelToken("xapp-wrong"))
		_, log, done := runLoop(t, api, newCommands())
		select {
		case err := <-done:
			if err == nil {
				t.Fatal("Run returned nil for a refused token")
			}
		case <-time.After(timeout):
			t.Fatal("Run did not stop on invalid_auth")
		}
		if _, ok := findLine(t, log, map[string]any{"message": "socket mode stopped", "suspect": "SLACK_APP_TOKEN"}); !ok {
			t.Errorf("the fatal error does not name SLACK_APP_TOKEN:\n%s", log)
		}
		secrettest.AssertAbsent(t, []string{o.BotToken, "xapp-wrong"}, log.String())
	})
}
