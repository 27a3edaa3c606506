package main

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/release-bot/release-bot/internal/config"
	"github.com/release-bot/release-bot/internal/github/githubtest"
	"github.com/release-bot/release-bot/internal/slackbot/slacktest"
)

// crashChildEnv makes the test binary run `serve` as a child process that a
// test can SIGKILL; its value is the child's crashChild, as JSON.
const crashChildEnv = "RELEASE_BOT_E2E_CRASH_CHILD"

type crashChild struct {
	Config, Replica string
}

// TestCrashChild is the child process: serve on the parent's fakes until
// killed, logging to stdout. It does nothing when run as a test.
func TestCrashChild(t *testing.T) {
	spec := os.Getenv(crashChildEnv)
	if spec == "" {
		t.Skip("the bot process of the crash tests")
	}
	var c crashChild
	if err := json.Unmarshal([]byte(spec), &c); err != nil {
		t.Fatal(err)
	}
	env, err := config.FromEnv(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	err = serve(ctx, serveOptions{
		Env: env, Config: cfg, Listen: "127.0.0.1:0", Drain: 5 * time.Second, Workers: 4, Queue: 16,
		Logger: zerolog.New(os.Stdout), Now: time.Now, ReplicaID: c.Replica,
		FollowPoll: 100 * time.Millisecond, LeaseTTL: 2 * time.Second, FindWithin: 2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
}

// child starts a bot process on b's fakes and Redis; its log goes to b's.
func (b *shipBot) child(replica string) *exec.Cmd {
	b.t.Helper()
	path := filepath.Join(b.t.TempDir(), "ship.yaml")
	if err := os.WriteFile(path, []byte(strings.Replace(shipConfig, "TIMEOUT", "2h", 1)), 0o600); err != nil {
		b.t.Fatal(err)
	}
	spec, _ := json.Marshal(crashChild{Config: path, Replica: replica})
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.v")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+string(spec),
		"SLACK_BOT_TOKEN="+botToken, "SLACK_APP_TOKEN="+appToken, "SLACK_API_URL="+b.slack.APIURL(),
		"KOSLI_HOST="+b.kosli.URL(), "KOSLI_ORG=cyber-dojo", "KOSLI_API_TOKEN="+kosliToken,
		"GITHUB_TOKEN="+ghToken, "GITHUB_API_URL="+b.gh.URL(), "REDIS_URL=redis://"+b.redis.Addr()+"/0")
	cmd.Stdout, cmd.Stderr = b.logs, b.logs
	if err := cmd.Start(); err != nil {
		b.t.Fatal(err)
	}
	b.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

// TestCrashWhileALegReplyIsInFlight: the bot process is SIGKILLed while
// Slack holds one leg's thread reply, before the post takes effect or
// after (the message is in the thread, the bot never heard back). Another
// process takes the run over once the dead one's claims lapse: every
// artifact gets exactly one reply.
func TestCrashWhileALegReplyIsInFlight(t *testing.T) {
	t.Parallel()
	for name, after := range map[string]bool{"the post is lost": false, "the post landed": true} {
		t.Run(name, func(t *testing.T) {
			b := startShip(t, "gen:15", githubtest.Workflow{Duration: 400 * time.Millisecond, Legs: map[string]githubtest.Leg{
				"service-00006": {Duration: 1500 * time.Millisecond},
			}}, shipSetup{})
			if err := b.stop(); err != nil {
				t.Fatal(err)
			}
			b.waitFor("the in-process bot to go", func(st *slacktest.State) bool { return len(st.Connections()) == 0 })
			held, release := b.slack.Hold("chat.postMessage", func(v url.Values) bool {
				return strings.Contains(v.Get("text"), "*service-00006*")
			}, after)
			defer release()
			first := b.child("r1")
			b.waitFor("the first process to connect", func(st *slacktest.State) bool { return len(st.Connections()) == 1 })
			ts := b.proposeAndApprove()
			select {
			case <-held:
			case <-time.After(30 * time.Second):
				t.Fatalf("the leg's reply was never posted\n%s", b.logs.String())
			}
			if err := first.Process.Kill(); err != nil { // SIGKILL: no drain, no lease given back
				t.Fatal(err)
			}
			_ = first.Wait()
			release()
			b.child("r2")
			b.threadHas(ts, "Release succeeded")
			for _, s := range []string{"service-00000", "service-00003", "service-00006", "service-00009", "service-00012"} {
				if n := b.threadCount(ts, "*"+s+"*"); n != 1 {
					t.Errorf("%s: %d replies, want 1", s, n)
				}
			}
		})
	}
}
