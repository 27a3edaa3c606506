package commands_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/release-bot/release-bot/internal/commands"
	"github.com/release-bot/release-bot/internal/drift/drifttest"
	"github.com/release-bot/release-bot/internal/kosli"
	"github.com/release-bot/release-bot/internal/kosli/kositest"
	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/retry"
	"github.com/release-bot/release-bot/internal/secret"
	"github.com/release-bot/release-bot/internal/slackbot"
	"github.com/release-bot/release-bot/internal/slackbot/slacktest"
)

// kosliDown makes the fake Kosli's env-diff answer 503 until kosliUp.
func (e *driftEnv) kosliDown() { e.kosli.FailNext(kositest.RouteEnvDiff, 1000, 503) }

func (e *driftEnv) kosliUp() { e.kosli.Clear(kositest.RouteEnvDiff) }

// approvedWhileKosliIsDown proposes a release, then approves it while the
// fake Kosli's env-diff answers 503 to the drift re-check.
func approvedWhileKosliIsDown(t *testing.T) (*driftEnv, *drifttest.Clock, *release.Release) {
	t.Helper()
	c := drifttest.NewClock(time.Now().UTC()) // the store checks expiry against its own clock
	e := newDriftEnv(t, "2", func(d *commands.Deps) {
		api := d.Slack.(*slackbot.API)
		d.Views, d.People, d.Now = api, api, c.Now
		// One attempt a call: the client's policy is the only one, so
		// the re-check then sends one request.
		kc, err := kosli.New(kosli.Options{Host: d.Links.Host, Org: "cyber-dojo", Token: secret.New(kosliSecret), Retry: retry.Policy{Attempts: 1}})
		if err != nil {
			t.Fatal(err)
		}
		d.Kosli = kc
	})
	e.slack.AddUser(slacktest.User{ID: rejectProposer, Name: "alice"})
	e.slack.AddUser(slacktest.User{ID: rejectApprover, Name: "carol"})
	ctx := context.Background()
	e.h.Command(ctx, slack.SlashCommand{TeamID: "T0SLACKTEST", ChannelID: driftChannel, UserID: rejectProposer, Command: "/release", Text: "propose"})
	r, err := e.store.Active(ctx, "prod")
	if err != nil || r == nil || r.MessageTS == "" {
		t.Fatalf("no proposed release: %v, %+v", err, r)
	}
	e.kosliDown()
	c.Advance(time.Minute)
	before := len(e.kosli.RequestsTo(kositest.RouteEnvDiff))
	e.h.Interaction(ctx, e.click(t, r, rejectApprover, commands.ActionApprove))
	if n := len(e.kosli.RequestsTo(kositest.RouteEnvDiff)) - before; n != 1 {
		t.Errorf("the re-check sent %d env-diff requests with a one-attempt client; want 1 (no retry loop around the client's)", n)
	}
	got := e.state(t, r.ID)
	if got.State != release.Approved {
		t.Fatalf("after an approval whose re-check could not read Kosli: %s; want still approved", got.State)
	}
	return e, c, got
}

func (e *driftEnv) state(t *testing.T, id string) *release.Release {
	t.Helper()
	r, err := e.store.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// threadCount counts the thread replies of r containing want.
func (e *driftEnv) threadCount(r *release.Release, want string) int {
	n := 0
	for _, m := range e.slack.Thread(driftChannel, r.MessageTS) {
		if strings.Contains(m.Text, want) {
			n++
		}
	}
	return n
}

// Issue 21.2: a drift re-check that could not run is not drift. Before, the
// release went straight to stale and every approval was wasted.
func TestRecheckThatCannotReadKosliKeepsTheApproval(t *testing.T) {
	t.Run("retried until Kosli answers, then dispatched", func(t *testing.T) {
		t.Parallel()
		e, c, r := approvedWhileKosliIsDown(t)
		if n := e.threadCount(r, "Kosli cannot be read"); n != 1 {
			t.Fatalf("the thread was told %d times; want once", n)
		}
		e.kosliUp()
		c.Advance(3 * time.Minute) // past the sweep's resume delay, within the bound
		e.h.Sweep(context.Background())
		if got := e.state(t, r.ID); got.State == release.Approved || got.State == release.Stale {
			t.Fatalf("once Kosli answers the sweep ships it; state %s", got.State)
		}
		if n := e.threadCount(r, "Kosli cannot be read"); n != 1 {
			t.Errorf("the thread was told %d times; want once", n)
		}
	})
	t.Run("stale only past the bound", func(t *testing.T) {
		t.Parallel()
		e, c, r := approvedWhileKosliIsDown(t)
		c.Advance(5 * time.Minute)
		e.h.Sweep(context.Background())
		if got := e.state(t, r.ID); got.State != release.Approved {
			t.Fatalf("5 minutes in, Kosli still down: %s; want approved", got.State)
		}
		if n := e.threadCount(r, "Kosli cannot be read"); n != 1 {
			t.Errorf("the thread was told %d times; want once", n)
		}
		c.Advance(11 * time.Minute)
		e.h.Sweep(context.Background())
		if got := e.state(t, r.ID); got.State != release.Stale {
			t.Fatalf("16 minutes in, Kosli still down: %s; want stale", got.State)
		}
		if n := e.threadCount(r, "so nothing was dispatched"); n != 1 {
			t.Errorf("the stale reply was posted %d times; want once", n)
		}
	})
}

// Hostile text from a person (a reject reason) is escaped in every message
// that shows it: the thread reply, the parent message, /release status and
// /release list.
func TestHostileReasonIsEscapedEverywhere(t *testing.T) {
	e, r := newRejectEnv(t)
	ctx := context.Background()
	const reason = "<!channel> see <https://evil.example|click> & `x"
	e.h.Interaction(ctx, rejectSubmission(r, rejectApprover, reason))
	if got := e.state(t, r.ID); got.State != release.Rejected {
		t.Fatalf("state %s; want rejected", got.State)
	}
	for _, text := range []string{"status", "list", "status " + r.ID} {
		// The payload the fake builds: a response_url it serves.
		id, err := e.slack.SlashCommand(slacktest.SlashCommand{ChannelID: driftChannel, UserID: rejectProposer, Text: text})
		var cmd slack.SlashCommand
		e.payload(t, id, err, &cmd)
		e.h.Command(ctx, cmd)
	}
	var all []string
	for _, m := range e.slack.Ephemerals(driftChannel, rejectProposer) {
		all = append(all, m.Text, string(m.Blocks))
	}
	for _, m := range e.slack.Thread(driftChannel, r.MessageTS) {
		all = append(all, m.Text, string(m.Blocks))
	}
	for _, m := range e.slack.Messages(driftChannel) {
		all = append(all, m.Text, string(m.Blocks))
	}
	if n := len(e.slack.Ephemerals(driftChannel, rejectProposer)); n < 3 {
		t.Fatalf("%d private answers to status, list and status <id>", n)
	}
	// Blocks are JSON, where encoding/json writes < > & as \u003c \u003e \u0026.
	joined := strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(strings.Join(all, "\n"))
	if !strings.Contains(joined, "&lt;!channel&gt;") {
		t.Fatalf("the reason is shown nowhere:\n%s", joined)
	}
	for _, raw := range []string{"<!channel>", "<https://evil.example"} {
		if strings.Contains(joined, raw) {
			t.Errorf("%q reached Slack unescaped", raw)
		}
	}
}
