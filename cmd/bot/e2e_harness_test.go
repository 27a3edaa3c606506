package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/release-bot/release-bot/internal/config"
	"github.com/release-bot/release-bot/internal/kosli/kositest"
	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/release/releasetest"
	"github.com/release-bot/release-bot/internal/secret"
	"github.com/release-bot/release-bot/internal/secret/secrettest"
	"github.com/release-bot/release-bot/internal/slackbot/slacktest"
	"github.com/release-bot/release-bot/internal/store/redistest"
)

const (
	releaseChannel = "C0RELEASE01"
	otherChannel   = "C0RANDOM001"
	alice          = "U0ALICE0001"
	bob            = "U0BOB000001"
	carol          = "U0CAROL0001"
	dave           = "U0DAVE00001" // a guest
	botToken       = "xoxb-e2e-bot-token-123"
	appToken       = "xapp-e2e-app-token-456"
)

const e2eConfig = `
settings:
  working_after: 200ms
pipelines:
  - name: prod
    from: aws-beta
    to: aws-prod
    channel: C0RELEASE01
    approvals: { required: 2, approvers: ["@release-managers", "U0CAROL0001"], expire_after: 24h }
    evidence: { control: release-approved }
`

// bot is `serve` against fake Slack, fake Kosli and a real redis-server;
// more instances (replicas, restarts) can share the same fakes and Redis.
type bot struct {
	t     testing.TB
	slack *slacktest.Server
	kosli *kositest.Server
	redis *redistest.Server
	logs  *secrettest.Log
	clock *testClock
	base  serveOptions
	// the first instance, kept for the single-instance helpers
	*instance
}

type instance struct {
	cancel context.CancelFunc
	done   chan error
	ops    string
}

type botOption func(*serveOptions)

// testClock is the bot's clock in tests: real time plus an offset a test moves.
type testClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// startBot runs serve until the test ends; the diff fixture seeds Kosli.
func startBot(t testing.TB, fixture string, opts ...botOption) *bot {
	t.Helper()
	fs := slacktest.Start(t, slacktest.Options{BotToken: botToken, AppToken: appToken})
	fs.AddChannel(releaseChannel, "releases")
	fs.AddChannel(otherChannel, "random")
	for _, u := range []string{alice, bob, carol} {
		name := strings.ToLower(u[2:7])
		fs.AddUser(slacktest.User{ID: u, Name: name, Email: name + "@example.com"})
	}
	fs.AddUser(slacktest.User{ID: dave, Name: "dave", IsRestricted: true})
	fs.AddUsergroup("S0RELMGRS01", "release-managers", alice, bob)
	fk := kositest.Start(t, "cyber-dojo", kosliToken)
	fk.AddControl("release-approved", "Release approved")
	if fixture != "" {
		d := loadFixture(t, fixture)
		if err := fk.LoadDiff("aws-beta", "aws-prod", d); err != nil {
			t.Fatal(err)
		}
		for _, a := range d.Source.Artifacts {
			for _, env := range []string{"aws-beta", "aws-prod"} {
				fk.SetVerdict(a.Fingerprint, env, kositest.Verdict{Compliant: true})
			}
		}
	}
	rs := redistest.StartServer(t)
	cfg, err := config.Parse("bot.yaml", []byte(e2eConfig))
	if err != nil {
		t.Fatal(err)
	}
	env, err := config.FromEnv(func(k string) string {
		return map[string]string{
			"SLACK_BOT_TOKEN": botToken, "SLACK_APP_TOKEN": appToken, "SLACK_API_URL": fs.APIURL(),
			"KOSLI_HOST": fk.URL(), "KOSLI_ORG": "cyber-dojo", "KOSLI_API_TOKEN": kosliToken,
		}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	env.RedisURL = secret.New("redis://" + rs.Addr() + "/0")
	logs := &secrettest.Log{}
	clock := &testClock{}
	b := &bot{t: t, slack: fs, kosli: fk, redis: rs, logs: logs, clock: clock}
	b.base = serveOptions{
		Env: env, Config: cfg, Listen: "127.0.0.1:0", Drain: 10 * time.Second, Workers: 4, Queue: 16,
		Logger: zerolog.New(logs), Now: clock.Now,
		EvidencePoll: 50 * time.Millisecond, EvidenceBackoff: 20 * time.Millisecond, EvidenceMaxBackoff: 200 * time.Millisecond,
	}
	for _, opt := range opts {
		opt(&b.base)
	}
	b.instance = b.start()
	t.Cleanup(func() {
		b.stop()
		secrettest.AssertAbsent(t, []string{botToken, appToken, kosliToken, "/slack/response/"}, logs.String())
	})
	b.waitFor("the socket to connect", func(st *slacktest.State) bool { return len(st.Connections()) > 0 })
	return b
}

// loadFixture reads a conformance diff by name, or "gen:N" generates one of N services.
func loadFixture(t testing.TB, fixture string) release.Diff {
	t.Helper()
	if n, ok := strings.CutPrefix(fixture, "gen:"); ok {
		var size int
		if _, err := fmt.Sscan(n, &size); err != nil {
			t.Fatal(err)
		}
		return *releasetest.GenerateDiff(size)
	}
	data, err := os.ReadFile(filepath.Join(conformance, "diff-snapshots", fixture+".json"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := release.ParseDiff(data)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// start runs one more serve instance on the same fakes and Redis.
func (b *bot) start(opts ...botOption) *instance {
	b.t.Helper()
	in := &instance{done: make(chan error, 1)}
	started := make(chan string, 1)
	o := b.base
	for _, opt := range opts {
		opt(&o)
	}
	o.Started = func(addr string) { started <- addr }
	ctx, cancel := context.WithCancel(context.Background())
	in.cancel = cancel
	go func() { in.done <- serve(ctx, o) }()
	select {
	case in.ops = <-started:
	case err := <-in.done:
		b.t.Fatalf("serve ended at start: %v", err)
	case <-time.After(20 * time.Second):
		b.t.Fatal("serve did not start")
	}
	b.t.Cleanup(func() { b.stopInstance(in) })
	return in
}

// restart stops the first instance and starts a new one in its place. It
// returns once only the new instance's connection is open: until the fake
// Slack has seen the old one close, an envelope could still be sent to it.
func (b *bot) restart() {
	b.t.Helper()
	old := b.slack.Connections()
	if err := b.stopInstance(b.instance); err != nil {
		b.t.Fatalf("stopping: %v", err)
	}
	b.instance = b.start()
	b.waitFor("only the new instance to be connected", func(st *slacktest.State) bool {
		conns := st.Connections()
		for _, id := range conns {
			if slices.Contains(old, id) {
				return false
			}
		}
		return len(conns) > 0
	})
}

func (b *bot) stop() error { return b.stopInstance(b.instance) }

// stopInstance sends the shutdown signal and waits for serve to return.
func (b *bot) stopInstance(in *instance) error {
	in.cancel()
	select {
	case err := <-in.done:
		in.done <- err
		return err
	case <-time.After(30 * time.Second):
		b.t.Fatal("serve did not stop within 30s")
		return nil
	}
}

func (b *bot) waitFor(what string, cond func(*slacktest.State) bool) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	if err := b.slack.WaitFor(ctx, cond); err != nil {
		b.t.Fatalf("waiting for %s: %v\nlogs:\n%s", what, err, b.logs.String())
	}
}

// command types /release TEXT as user in channel and waits for its ack.
func (b *bot) command(user, channel, text string) string {
	b.t.Helper()
	id, err := b.slack.SlashCommand(slacktest.SlashCommand{ChannelID: channel, UserID: user, Text: text})
	if err != nil {
		b.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := b.slack.WaitAck(ctx, id); err != nil {
		b.t.Fatalf("envelope %s not acked: %v", id, err)
	}
	return id
}

// ephemeral waits for an ephemeral to user containing want.
func (b *bot) ephemeral(channel, user, want string) slacktest.Message {
	b.t.Helper()
	var found slacktest.Message
	b.waitFor("an ephemeral containing "+want, func(st *slacktest.State) bool {
		for _, m := range st.Ephemerals(channel, user) {
			if !m.Deleted && strings.Contains(m.Text, want) {
				found = m
				return true
			}
		}
		return false
	})
	return found
}

// blocksText is every text in a message's blocks, for content assertions.
func blocksText(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var blocks any
	if err := json.Unmarshal(raw, &blocks); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if s, ok := x["text"].(string); ok {
				b.WriteString(s + "\n")
			}
			for k, y := range x {
				if k != "text" || !isString(y) {
					walk(y)
				}
			}
		case []any:
			for _, y := range x {
				walk(y)
			}
		}
	}
	walk(blocks)
	return b.String()
}

func isString(v any) bool { _, ok := v.(string); return ok }
