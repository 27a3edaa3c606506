package commands_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/release-bot/release-bot/internal/commands"
	"github.com/release-bot/release-bot/internal/config"
	"github.com/release-bot/release-bot/internal/kosli"
	"github.com/release-bot/release-bot/internal/kosli/kositest"
	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/secret"
	"github.com/release-bot/release-bot/internal/secret/secrettest"
	"github.com/release-bot/release-bot/internal/slackbot"
	"github.com/release-bot/release-bot/internal/slackbot/slacktest"
	"github.com/release-bot/release-bot/internal/store"
)

const (
	driftChannel = "C0RELEASE01"
	slackBot     = "xoxb-drift-test"
	slackApp     = "xapp-drift-test"
	kosliSecret  = "kosli-drift-test-token"
)

const driftConfig = `
pipelines:
  - name: prod
    from: aws-beta
    to: aws-prod
    channel: C0RELEASE01
    approvals: { required: 1, approvers: ["U0CAROL0001"] }
    drift_report: { schedule: "CRON_TZ=Europe/London 0 9 * * 1-5", quiet_when_empty: true, stale_after: 72h }
`

// driftEnv is a handler against fake Slack, fake Kosli and miniredis.
type driftEnv struct {
	h     *commands.Handler
	p     *config.Pipeline
	slack *slacktest.Server
	kosli *kositest.Server
	api   *slackbot.API
	logs  *secrettest.Log
	store *store.Store
}

// newDriftEnv starts the fakes; each option may change the handler's deps.
func newDriftEnv(t *testing.T, fixture string, opts ...func(*commands.Deps)) *driftEnv {
	t.Helper()
	cfg, err := config.Parse("bot.yaml", []byte(driftConfig))
	if err != nil {
		t.Fatal(err)
	}
	fs := slacktest.Start(t, slacktest.Options{BotToken: slackBot, AppToken: slackApp})
	fs.AddChannel(driftChannel, "releases")
	fk := kositest.Start(t, "cyber-dojo", kosliSecret)
	d := loadDiff(t, fixture)
	if err := fk.LoadDiff("aws-beta", "aws-prod", d); err != nil {
		t.Fatal(err)
	}
	for _, a := range d.Source.Artifacts {
		fk.SetVerdict(a.Fingerprint, "aws-prod", kositest.Verdict{Compliant: true})
	}
	logs := &secrettest.Log{}
	log := zerolog.New(logs)
	kc, err := kosli.New(kosli.Options{Host: fk.URL(), Org: "cyber-dojo", Token: secret.New(kosliSecret), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	api := slackbot.NewAPI(slackbot.APIOptions{BotToken: secret.New(slackBot), AppToken: secret.New(slackApp), APIURL: fs.APIURL(), Logger: log})
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { rdb.Close() })
	st := store.New(rdb, store.Options{})
	deps := commands.Deps{
		Config: cfg, Slack: api, Kosli: kc, Gate: kc, Releases: st,
		Links: release.Links{Host: fk.URL(), Org: "cyber-dojo"}, Logger: log, KosliTimeout: 5 * time.Second,
		Now: func() time.Time { return time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC) },
	}
	for _, o := range opts {
		o(&deps)
	}
	h := commands.New(deps)
	t.Cleanup(func() { secrettest.AssertAbsent(t, []string{slackBot, slackApp, kosliSecret}, logs.String()) })
	return &driftEnv{h: h, p: cfg.Pipelines[0], slack: fs, kosli: fk, api: api, logs: logs, store: st}
}

// report runs a scheduled report and returns the blocks of the one message it posted.
func (e *driftEnv) report(t *testing.T) string {
	t.Helper()
	if err := e.h.DriftReport(context.Background(), e.p, true); err != nil {
		t.Fatal(err)
	}
	msgs := e.posted()
	if len(msgs) != 1 {
		t.Fatalf("%d messages posted", len(msgs))
	}
	return string(msgs[0].Blocks)
}

// posted is every message in the channel.
func (e *driftEnv) posted() []slacktest.Message {
	var out []slacktest.Message
	for _, m := range e.slack.Messages(driftChannel) {
		if !m.Ephemeral {
			out = append(out, m)
		}
	}
	return out
}

func TestDriftReportAsksComplianceInTheTarget(t *testing.T) {
	e := newDriftEnv(t, "2")
	e.kosli.SetVerdict(fingerprintOf(t, "2", "web"), "aws-prod", kositest.Verdict{
		Policies: []kositest.PolicyResult{{Name: "prod-policy", FailingRules: []string{"pull-request"}}},
	})
	blocks := e.report(t)
	for _, want := range []string{"Drift report · prod: aws-beta → aws-prod", "*nginx*", "*web*", ":white_check_mark: compliant in aws-prod",
		":x: not compliant in aws-prod", ":rotating_light: waiting", "(over 72h)", `"action_id":"release_propose"`, `"value":"prod"`} {
		if !strings.Contains(blocks, want) {
			t.Errorf("report lacks %s:\n%s", want, blocks)
		}
	}
	asserts := e.kosli.RequestsTo(kositest.RouteAsserts)
	if len(asserts) != 2 {
		t.Fatalf("%d compliance questions for 2 waiting artifacts", len(asserts))
	}
	for _, r := range asserts {
		if env := r.Query.Get("environment_name"); env != "aws-prod" {
			t.Errorf("compliance asked in %q, not the target", env)
		}
	}
}

// fingerprintOf is the incoming fingerprint of service in a diff fixture.
func fingerprintOf(t *testing.T, fixture, service string) string {
	t.Helper()
	d := loadDiff(t, fixture)
	p := release.Compute(&d, release.PlanOptions{})
	for _, pr := range p.Promotions {
		if pr.Service == service {
			return pr.Incoming.Fingerprint
		}
	}
	t.Fatalf("no %s in fixture %s", service, fixture)
	return ""
}

func TestDriftReportQuietWhenEmptyOnlyOnASchedule(t *testing.T) {
	e := newDriftEnv(t, "0")
	if err := e.h.DriftReport(context.Background(), e.p, true); err != nil {
		t.Fatal(err)
	}
	if msgs := e.posted(); len(msgs) != 0 {
		t.Fatalf("a quiet empty report posted %d message(s)", len(msgs))
	}
	// Someone who asks gets an answer, quiet or not.
	if err := e.h.DriftReport(context.Background(), e.p, false); err != nil {
		t.Fatal(err)
	}
	msgs := e.posted()
	if len(msgs) != 1 || !strings.Contains(msgs[0].Text, "Nothing waits to be released in prod") {
		t.Fatalf("posted %+v", msgs)
	}
}

func TestDriftReportWhenKosliFailsSaysSoAndTheNextWorks(t *testing.T) {
	e := newDriftEnv(t, "2")
	e.kosli.FailNext(kositest.RouteEnvDiff, 1, 403)
	err := e.h.DriftReport(context.Background(), e.p, true)
	if err == nil {
		t.Fatal("no error for the log")
	}
	msgs := e.posted()
	if len(msgs) != 1 || !strings.Contains(msgs[0].Text, "could not read aws-beta and aws-prod from Kosli") {
		t.Fatalf("posted %+v", msgs)
	}
	blocks := string(msgs[0].Blocks)
	i := strings.Index(blocks, "ref `")
	if i < 0 || !strings.Contains(blocks, "Kosli refused the bot's API token") {
		t.Fatalf("the report does not say what went wrong:\n%s", blocks)
	}
	ref := blocks[i+5 : i+5+8]
	if !strings.Contains(e.logs.String(), `"ref":"`+ref+`"`) || !strings.Contains(e.logs.String(), "403") {
		t.Errorf("no log line saying why under ref %s:\n%s", ref, e.logs)
	}
	if err := e.h.DriftReport(context.Background(), e.p, true); err != nil {
		t.Fatal(err)
	}
	if msgs := e.posted(); len(msgs) != 2 || !strings.Contains(msgs[1].Text, "2 waiting") {
		t.Fatalf("the next report: %+v", msgs)
	}
}

func TestDriftReportOneComplianceFailureLeavesThatOneNotKnown(t *testing.T) {
	e := newDriftEnv(t, "2")
	e.kosli.FailNext(kositest.RouteAsserts, 1, 403)
	blocks := e.report(t)
	if strings.Count(blocks, ":grey_question: compliance in aws-prod not known") != 1 || strings.Count(blocks, ":white_check_mark: compliant in aws-prod") != 1 {
		t.Fatalf("report:\n%s", blocks)
	}
	if !strings.Contains(e.logs.String(), "drift report: compliance not known") {
		t.Errorf("log:\n%s", e.logs)
	}
}

// loadDiff reads one of the cyber-dojo diff fixtures.
func loadDiff(t *testing.T, fixture string) release.Diff {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("../../testdata/cyber-dojo-promotions/diff-snapshots", fixture+".json"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := release.ParseDiff(data)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
