package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/release-bot/release-bot/internal/config"
	"github.com/release-bot/release-bot/internal/drift/drifttest"
	"github.com/release-bot/release-bot/internal/kosli/kositest"
	"github.com/release-bot/release-bot/internal/slackbot/slacktest"
)

// driftStart is where the scheduler's clock begins: an hour before the report.
var driftStart = time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)

// withDrift gives the pipeline a daily 09:00 (UTC) drift report and the
// scheduler a clock the test moves.
func withDrift(t testing.TB, clock *drifttest.Clock, quiet bool) botOption {
	t.Helper()
	yaml := e2eConfig + fmt.Sprintf("    drift_report: { schedule: \"0 9 * * *\", quiet_when_empty: %t, stale_after: 72h }\n", quiet)
	cfg, err := config.Parse("bot.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return func(o *serveOptions) {
		o.Config = cfg
		o.DriftClock = clock
	}
}

// schedulers waits until n schedulers wait on the clock.
func (b *bot) schedulers(clock *drifttest.Clock, n int) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if !clock.WaitForWaiters(ctx, n) {
		b.t.Fatalf("%d scheduler(s) not waiting (%d are)\nlogs:\n%s", n, clock.Waiters(), b.logs.String())
	}
}

// driftReports are the drift reports in the channel, oldest first.
func driftReports(st *slacktest.State) []slacktest.Message {
	var out []slacktest.Message
	for _, m := range channelMessages(st) {
		if strings.HasPrefix(m.Text, "Drift report for prod") {
			out = append(out, m)
		}
	}
	return out
}

func TestDriftOnDemandAndItsProposeButton(t *testing.T) {
	t.Parallel()
	b := startBot(t, "2", withDrift(t, drifttest.NewClock(driftStart), true))
	b.command(alice, releaseChannel, "drift")
	var report slacktest.Message
	b.waitFor("the drift report", func(st *slacktest.State) bool {
		r := driftReports(st)
		if len(r) == 1 {
			report = r[0]
		}
		return len(r) == 1
	})
	text := blocksText(t, report.Blocks)
	for _, want := range []string{"Drift report · prod: aws-beta → aws-prod", "*2 waiting* to go to aws-prod", "*nginx*", "*web*",
		":white_check_mark: compliant in aws-prod", "(over 72h)", "/compare/"} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q:\n%s", want, text)
		}
	}
	if !strings.Contains(string(report.Blocks), `"action_id":"release_propose"`) {
		t.Fatalf("no Propose button: %s", report.Blocks)
	}

	// The button is /release propose prod, as the person who clicked. A
	// slow propose (past working_after) must not answer on the button's
	// response_url with replace_original or delete_original: there they
	// stand for the report itself (Slack's "Handling user interaction":
	// https://api.slack.com/interactivity/handling#message_responses).
	b.kosli.Script(kositest.RouteEnvDiff, kositest.Response{Delay: 500 * time.Millisecond, PassThrough: true})
	b.click(bob, report.TS, "release_propose")
	msg := b.releaseMessage()
	b.threadHas(msg.TS, "Proposed by") // propose has answered, working notice and all
	b.waitFor("", func(st *slacktest.State) bool {
		if m, ok := st.Message(releaseChannel, report.TS); !ok || m.Deleted || !strings.HasPrefix(m.Text, "Drift report for prod") {
			t.Errorf("the drift report was replaced or deleted by the propose it offered: %+v", m)
		}
		return true
	})
	if !strings.Contains(blocksText(t, msg.Blocks), "proposed by <@"+bob+">") {
		t.Errorf("release not proposed by the clicker:\n%s", blocksText(t, msg.Blocks))
	}
	id := releaseID(msg)

	// Now the report links the open release instead of offering another.
	b.command(alice, releaseChannel, "drift")
	b.waitFor("the second report", func(st *slacktest.State) bool {
		r := driftReports(st)
		if len(r) == 2 {
			report = r[1]
		}
		return len(r) == 2
	})
	if text := blocksText(t, report.Blocks); !strings.Contains(text, "Release `"+id+"` is open") || strings.Contains(string(report.Blocks), "release_propose") {
		t.Errorf("second report:\n%s", text)
	}
}

func TestDriftScheduledOnceAcrossReplicas(t *testing.T) {
	t.Parallel()
	clock := drifttest.NewClock(driftStart)
	b := startBot(t, "2", withDrift(t, clock, true))
	b.start() // a second replica on the same Redis
	b.schedulers(clock, 2)
	clock.Set(driftStart.Add(time.Hour))
	b.waitFor("the scheduled report", func(st *slacktest.State) bool { return len(driftReports(st)) > 0 })
	b.schedulers(clock, 2) // both have run or given way, and wait for tomorrow
	var reports []slacktest.Message
	b.waitFor("", func(st *slacktest.State) bool { reports = driftReports(st); return true })
	if len(reports) != 1 {
		t.Fatalf("%d reports from two replicas", len(reports))
	}
	if !strings.Contains(reports[0].Text, "2 waiting") {
		t.Errorf("report %q", reports[0].Text)
	}
}

func TestDriftScheduledKosliFailureThenNextDay(t *testing.T) {
	t.Parallel()
	clock := drifttest.NewClock(driftStart)
	b := startBot(t, "2", withDrift(t, clock, true))
	b.kosli.FailNext(kositest.RouteEnvDiff, 1, 403)
	b.schedulers(clock, 1)
	clock.Set(driftStart.Add(time.Hour))
	b.waitFor("the failed report", func(st *slacktest.State) bool { return len(driftReports(st)) == 1 })
	b.schedulers(clock, 1)
	var reports []slacktest.Message
	b.waitFor("", func(st *slacktest.State) bool { reports = driftReports(st); return true })
	if !strings.Contains(reports[0].Text, "could not read aws-beta and aws-prod from Kosli") {
		t.Fatalf("report %q", reports[0].Text)
	}
	if !strings.Contains(b.logs.String(), "drift report failed") {
		t.Errorf("the log does not say the report failed:\n%s", b.logs.String())
	}
	clock.Set(driftStart.Add(25 * time.Hour))
	b.waitFor("the next day's report", func(st *slacktest.State) bool {
		r := driftReports(st)
		return len(r) == 2 && strings.Contains(r[1].Text, "2 waiting")
	})
}

func TestDriftScheduledQuietWhenEmpty(t *testing.T) {
	t.Parallel()
	clock := drifttest.NewClock(driftStart)
	b := startBot(t, "0", withDrift(t, clock, true))
	b.schedulers(clock, 1)
	clock.Set(driftStart.Add(time.Hour))
	b.schedulers(clock, 1)
	if !eventually(func() bool {
		return strings.Contains(b.logs.String(), "nothing waits, and the report is quiet when empty")
	}) {
		t.Fatalf("the quiet report did not run:\n%s", b.logs.String())
	}
	b.waitFor("", func(st *slacktest.State) bool {
		if n := len(channelMessages(st)); n != 0 {
			t.Errorf("a quiet empty report posted %d message(s)", n)
		}
		return true
	})
	// Asked for, it answers.
	b.command(alice, releaseChannel, "drift")
	b.waitFor("the short line", func(st *slacktest.State) bool {
		m := channelMessages(st)
		return len(m) == 1 && strings.Contains(m[0].Text, "Nothing waits to be released in prod")
	})
}
