package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/release-bot/release-bot/internal/config"
	"github.com/release-bot/release-bot/internal/kosli/kositest"
	"github.com/release-bot/release-bot/internal/secret/secrettest"
	"github.com/release-bot/release-bot/internal/slackbot/slacktest"
	"github.com/rs/zerolog"
)

func channelMessages(st *slacktest.State) []slacktest.Message {
	var out []slacktest.Message
	for _, m := range st.Messages(releaseChannel) {
		if !m.Ephemeral && !m.Deleted {
			out = append(out, m)
		}
	}
	return out
}

func TestServeDiff(t *testing.T) {
	t.Parallel()
	b := startBot(t, "2")
	b.command(alice, releaseChannel, "diff")
	b.waitFor("the diff", func(st *slacktest.State) bool { return len(channelMessages(st)) == 1 })
	var msg slacktest.Message
	b.waitFor("", func(st *slacktest.State) bool { msg = channelMessages(st)[0]; return true })
	text := blocksText(t, msg.Blocks)
	for _, want := range []string{
		"Release diff · prod: aws-beta → aws-prod", "aws-beta#4754", "aws-prod#3548", "*2 to promote* · 6 unchanged",
		"*nginx*", "`e92d83d`", "`fa32058`", "https://github.com/cyber-dojo/nginx/compare/e92d83d1bf0b1de46205d5e19131f1cee2b6b3da...fa32058a046015786d1589e16af7da0973f2e726",
		"*web*", "waiting ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("diff message lacks %q:\n%s", want, text)
		}
	}
	if !strings.Contains(msg.Text, "2 to promote") {
		t.Errorf("fallback text %q", msg.Text)
	}
	resp, err := http.Get("http://" + b.ops + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/readyz = %d", resp.StatusCode)
	}
	for _, want := range []string{
		`releasebot_commands_total{command="diff",outcome="ok"} 1`,
		`releasebot_socket_envelopes_total{type="slash_commands"} 1`,
		`releasebot_socket_acks_total{result="ok"} 1`,
		`releasebot_kosli_requests_total{endpoint="GET /env-diff/{org}",status="2xx"} 1`,
		"releasebot_socket_connected 1",
	} {
		if !eventually(func() bool { return strings.Contains(get(t, "http://"+b.ops+"/metrics"), want) }) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// eventually polls cond for up to 20 seconds (room for a loaded CI
// machine): for state another goroutine records just after the effect a
// test waited for.
func eventually(cond func() bool) bool {
	for range 400 {
		if cond() {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}

func TestServeCommandsThatAnswerThePersonOnly(t *testing.T) {
	t.Parallel()
	b := startBot(t, "2")
	b.command(alice, otherChannel, "diff")
	b.ephemeral(otherChannel, alice, "No pipeline is configured for this channel")
	b.command(alice, otherChannel, "diff prod")
	b.ephemeral(otherChannel, alice, "works in <#C0RELEASE01>")
	b.command(alice, releaseChannel, "frobnicate")
	b.ephemeral(releaseChannel, alice, `I don't know "frobnicate"`)
	b.command(alice, releaseChannel, "")
	b.ephemeral(releaseChannel, alice, "/release propose")
	b.command(alice, releaseChannel, "diff staging")
	b.ephemeral(releaseChannel, alice, "There is no pipeline called `staging`")
	b.waitFor("nothing in the channel", func(st *slacktest.State) bool { return len(channelMessages(st)) == 0 })
}

func TestServeDuplicateDeliveryAnsweredOnce(t *testing.T) {
	t.Parallel()
	b := startBot(t, "2")
	id := b.command(alice, releaseChannel, "diff")
	if err := b.slack.Redeliver(id); err != nil {
		t.Fatal(err)
	}
	b.waitFor("both deliveries acked and one diff", func(st *slacktest.State) bool {
		acks := 0
		for _, a := range st.Acks() {
			if a.EnvelopeID == id {
				acks++
			}
		}
		return acks == 2 && len(channelMessages(st)) == 1
	})
	// A later, different command is still answered: the redelivery was dropped, not the loop.
	b.command(alice, releaseChannel, "diff")
	b.waitFor("the second diff", func(st *slacktest.State) bool { return len(channelMessages(st)) == 2 })
	if n := len(b.kosli.RequestsTo(kositest.RouteEnvDiff)); n != 2 {
		t.Errorf("%d env-diff requests, want 2 (the redelivery must not ask Kosli)", n)
	}
}

func TestServeDisconnectMidCommandLosesNothing(t *testing.T) {
	t.Parallel()
	b := startBot(t, "2")
	b.kosli.Script(kositest.RouteEnvDiff, kositest.Response{PassThrough: true, Delay: 500 * time.Millisecond})
	b.command(alice, releaseChannel, "diff")
	b.slack.Disconnect("refresh_requested")
	b.waitFor("the diff despite the disconnect", func(st *slacktest.State) bool { return len(channelMessages(st)) == 1 })
	b.waitFor("a reconnect", func(st *slacktest.State) bool { return st.ConnectionsOpened() >= 2 && len(st.Connections()) > 0 })
	b.command(alice, releaseChannel, "diff")
	b.waitFor("a diff over the new connection", func(st *slacktest.State) bool { return len(channelMessages(st)) == 2 })
}

func TestServeHonoursSlackRateLimit(t *testing.T) {
	t.Parallel()
	b := startBot(t, "2")
	b.slack.RateLimit("chat.postMessage", 1, time.Second)
	b.command(alice, releaseChannel, "diff")
	b.waitFor("the diff after the 429", func(st *slacktest.State) bool { return len(channelMessages(st)) == 1 })
	var calls []slacktest.Call
	b.waitFor("", func(st *slacktest.State) bool { calls = st.Calls("chat.postMessage"); return true })
	if len(calls) != 2 || calls[0].Status != 429 || calls[1].Status != 200 {
		t.Fatalf("calls %+v", calls)
	}
	if gap := calls[1].At.Sub(calls[0].At); gap < time.Second {
		t.Errorf("retried %v after a 429 with Retry-After: 1", gap)
	}
}

func TestServeKosliErrorThenSuccess(t *testing.T) {
	t.Parallel()
	b := startBot(t, "2")
	b.kosli.FailNext(kositest.RouteEnvDiff, 1, 500)
	b.command(alice, releaseChannel, "diff")
	b.waitFor("the diff after Kosli's 500", func(st *slacktest.State) bool { return len(channelMessages(st)) == 1 })
	if n := len(b.kosli.RequestsTo(kositest.RouteEnvDiff)); n != 2 {
		t.Errorf("%d env-diff requests, want 2", n)
	}
}

func TestServeKosliHangingTellsThePersonAndAcksStay(t *testing.T) {
	t.Parallel()
	b := startBot(t, "2", func(o *serveOptions) { o.KosliTimeout = 700 * time.Millisecond })
	b.kosli.Script(kositest.AnyRoute, kositest.Hang(), kositest.Hang(), kositest.Hang(), kositest.Hang(), kositest.Hang(), kositest.Hang(), kositest.Hang(), kositest.Hang())
	b.command(alice, releaseChannel, "diff")
	// While Kosli hangs, other envelopes are still acked at once.
	for range 5 {
		b.command(bob, releaseChannel, "help")
	}
	b.ephemeral(releaseChannel, alice, "Working on it")
	m := b.ephemeral(releaseChannel, alice, "Kosli did not answer in time")
	if !strings.Contains(m.Text, "ref `") {
		t.Errorf("no reference in %q", m.Text)
	}
	ref := m.Text[strings.Index(m.Text, "ref `")+5:]
	ref = ref[:strings.Index(ref, "`")]
	if !strings.Contains(b.logs.String(), `"ref":"`+ref+`"`) {
		t.Errorf("no log line with ref %s", ref)
	}
	b.waitFor("nothing in the channel", func(st *slacktest.State) bool { return len(channelMessages(st)) == 0 })
}

func TestServeSIGTERMFinishesTheCommandInFlight(t *testing.T) {
	t.Parallel()
	b := startBot(t, "2")
	b.kosli.Script(kositest.RouteEnvDiff, kositest.Response{PassThrough: true, Delay: 700 * time.Millisecond})
	b.command(alice, releaseChannel, "diff")
	b.waitFor("Kosli asked", func(*slacktest.State) bool { return len(b.kosli.RequestsTo(kositest.RouteEnvDiff)) > 0 })
	if err := b.stop(); err != nil {
		t.Fatalf("serve after SIGTERM: %v", err)
	}
	b.waitFor("the diff posted during the drain", func(st *slacktest.State) bool { return len(channelMessages(st)) == 1 })
}

// TestServeBusyAnswersInsteadOfBlocking: with every worker stuck on a
// hanging Kosli and the queue full, a further command is acked at once and
// its author told to try again; nothing blocks the loop.
func TestServeBusyAnswersInsteadOfBlocking(t *testing.T) {
	t.Parallel()
	b := startBot(t, "2", func(o *serveOptions) { o.Workers, o.Queue, o.KosliTimeout = 1, 1, 3*time.Second })
	b.kosli.Script(kositest.AnyRoute, kositest.Hang(), kositest.Hang(), kositest.Hang(), kositest.Hang())
	b.command(alice, releaseChannel, "diff") // the worker
	b.waitFor("Kosli asked", func(*slacktest.State) bool { return len(b.kosli.RequestsTo(kositest.RouteEnvDiff)) > 0 })
	b.command(bob, releaseChannel, "diff")   // the queue
	b.command(carol, releaseChannel, "diff") // one too many: acked, and told
	b.ephemeral(releaseChannel, carol, "release-bot is busy right now")
	if !eventually(func() bool {
		return strings.Contains(get(t, "http://"+b.ops+"/metrics"), "releasebot_busy_rejections_total 1")
	}) {
		t.Error("busy rejection not counted")
	}
}

func TestServeNotInChannelSaysInviteMe(t *testing.T) {
	t.Parallel()
	b := startBot(t, "2")
	b.slack.SetBotMember(releaseChannel, false)
	b.command(alice, releaseChannel, "diff")
	b.ephemeral(releaseChannel, alice, "Invite me with `/invite @release-bot`")
}

// serveWithTokens runs serve against fake Slack and Kosli with the given
// Slack tokens, until it stops (within 30 s); started reports whether it
// got as far as listening.
func serveWithTokens(t *testing.T, bot, app string) (fs *slacktest.Server, logs string, started bool, err error) {
	t.Helper()
	return serveWith(t, bot, app, func(fk *kositest.Server) { fk.AddControl("release-approved", "Release approved") })
}

// serveWith is serveWithTokens with the fake Kosli seeded by seed.
func serveWith(t *testing.T, bot, app string, seed func(*kositest.Server)) (fs *slacktest.Server, logs string, started bool, err error) {
	t.Helper()
	fs = slacktest.Start(t, slacktest.Options{BotToken: botToken, AppToken: appToken})
	fk := kositest.Start(t, "cyber-dojo", kosliToken)
	seed(fk)
	cfg, err := config.Parse("bot.yaml", []byte(e2eConfig))
	if err != nil {
		t.Fatal(err)
	}
	env, err := config.FromEnv(func(k string) string {
		return map[string]string{
			"SLACK_BOT_TOKEN": bot, "SLACK_APP_TOKEN": app, "SLACK_API_URL": fs.APIURL(),
			"KOSLI_HOST": fk.URL(), "KOSLI_ORG": "cyber-dojo", "KOSLI_API_TOKEN": kosliToken,
		}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	log := &secrettest.Log{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = serve(ctx, serveOptions{Env: env, Config: cfg, Listen: "127.0.0.1:0", Drain: time.Second,
		Logger: zerolog.New(log), Now: time.Now, Started: func(string) { started = true }})
	if ctx.Err() != nil {
		t.Fatalf("serve did not stop by itself: %v", err)
	}
	return fs, log.String(), started, err
}

// TestServeStopsOnARejectedAppToken: Slack refusing the app-level token is
// fatal and says so; it is not retried forever.
func TestServeStopsOnARejectedAppToken(t *testing.T) {
	t.Parallel()
	const revoked = "xapp-revoked-token-789"
	_, logs, _, err := serveWithTokens(t, botToken, revoked)
	if err == nil || !strings.HasPrefix(err.Error(), "SLACK_APP_TOKEN was refused by Slack's apps.connections.open: ") || !strings.HasSuffix(err.Error(), "invalid_auth") {
		t.Fatalf("serve = %v", err)
	}
	secrettest.AssertAbsent(t, []string{revoked, botToken, kosliToken}, err.Error(), logs)
}

// TestServeStopsOnARejectedBotToken: a bot token Slack refuses stops serve
// before it listens, naming SLACK_BOT_TOKEN, instead of a /readyz that says
// ready on the app token alone.
func TestServeStopsOnARejectedBotToken(t *testing.T) {
	t.Parallel()
	const revoked = "xoxb-revoked-token-789"
	fs, logs, started, err := serveWithTokens(t, revoked, appToken)
	if err == nil || !strings.Contains(err.Error(), "SLACK_BOT_TOKEN was refused by Slack's auth.test: invalid_auth") {
		t.Fatalf("serve = %v", err)
	}
	if started || len(fs.Connections()) != 0 {
		t.Errorf("serve listened (%v) or opened a socket (%v) with a refused bot token", started, fs.Connections())
	}
	secrettest.AssertAbsent(t, []string{revoked, appToken, kosliToken}, err.Error(), logs)
}
