package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/release-bot/release-bot/internal/config"
	"github.com/release-bot/release-bot/internal/github/githubtest"
	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/secret"
	"github.com/release-bot/release-bot/internal/slackbot/slacktest"
	"github.com/release-bot/release-bot/internal/store"
)

const ghToken = "ghp_e2eTokenForTheFakeGitHub0001"

const shipConfig = `
settings:
  working_after: 200ms
pipelines:
  - name: prod
    from: aws-beta
    to: aws-prod
    channel: C0RELEASE01
    approvals: { required: 1, approvers: ["U0CAROL0001"], expire_after: 24h }
    workflow: { repo: acme/deploys, file: promote.yml, ref: main, timeout: TIMEOUT }
    verify: { timeout: 3s }
    evidence: { control: release-approved, timeout: 3s }
`

type shipBot struct {
	*bot
	gh *githubtest.Server
}

type shipSetup struct {
	timeout string
	// promote moves what deployed into the fake Kosli's production when the run ends.
	noPromote bool
	late      time.Duration
}

// startShip runs the bot with a pipeline whose workflow runs on a fake GitHub.
func startShip(t *testing.T, fixture string, wf githubtest.Workflow, s shipSetup, opts ...botOption) *shipBot {
	t.Helper()
	wf.Repo, wf.File = "acme/deploys", "promote.yml"
	if wf.Duration == 0 {
		wf.Duration = 300 * time.Millisecond
	}
	gh := githubtest.Start(t, ghToken, wf)
	if s.timeout == "" {
		s.timeout = "2h"
	}
	cfg, err := config.Parse("ship.yaml", []byte(strings.Replace(shipConfig, "TIMEOUT", s.timeout, 1)))
	if err != nil {
		t.Fatal(err)
	}
	b := startBot(t, fixture, append([]botOption{func(o *serveOptions) {
		o.Config = cfg
		o.Env.GitHubToken = secret.New(ghToken)
		o.Env.GitHubAPIURL = gh.URL()
		o.FollowPoll, o.LeaseTTL, o.FindWithin = 100*time.Millisecond, 2*time.Second, 2*time.Second
	}}, opts...)...)
	sb := &shipBot{bot: b, gh: gh}
	gh.OnRunCompleted(func(run githubtest.Run) {
		if s.noPromote {
			return
		}
		fps, err := deployedFingerprints(run)
		if err != nil {
			t.Error(err)
			return
		}
		go func() {
			time.Sleep(s.late)
			// A rollback deploys artifacts aws-beta no longer runs.
			if b.kosli.Promote("aws-beta", "aws-prod", fps) == 0 {
				b.kosli.Deploy("aws-prod", fps)
			}
		}()
	})
	return sb
}

// proposeAndApprove makes a release and approves it; it returns the parent message's ts.
func (b *shipBot) proposeAndApprove() string {
	b.t.Helper()
	b.command(alice, releaseChannel, "propose")
	msg := b.releaseMessage()
	b.click(carol, msg.TS, "release_approve")
	b.threadHas(msg.TS, "The release is approved")
	return msg.TS
}

func TestShipSucceedsAndVerifies(t *testing.T) {
	t.Parallel()
	b := startShip(t, "2", githubtest.Workflow{}, shipSetup{})
	ts := b.proposeAndApprove()
	b.threadHas(ts, "Workflow run <")
	b.threadHas(ts, ":white_check_mark: *nginx* `e92d83d` → `fa32058`: deployed")
	b.threadHas(ts, ":white_check_mark: *web* `7645ee7` → `ed1878b`: deployed")
	b.threadHas(ts, "Release succeeded*: 2 of 2 artifacts deployed to aws-prod")
	b.threadHas(ts, "Verified in aws-prod#")
	if n := len(b.gh.RequestsTo(githubtest.RouteDispatch)); n != 1 {
		t.Errorf("%d dispatches", n)
	}
	if !strings.Contains(b.parentText(ts), "Succeeded") {
		t.Errorf("parent message:\n%s", b.parentText(ts))
	}
	var names []string
	for _, a := range b.kosli.Attestations() {
		names = append(names, a.Name)
	}
	for _, want := range []string{"deployment", "verification"} {
		if !strings.Contains(strings.Join(names, " "), want) {
			t.Errorf("no %s attestation in %v", want, names)
		}
	}
}

func TestShipWithoutRunDetailsFindsTheRunByName(t *testing.T) {
	t.Parallel()
	b := startShip(t, "2", githubtest.Workflow{}, shipSetup{})
	b.gh.SetDispatchMode(githubtest.ModeNoContent)
	ts := b.proposeAndApprove()
	b.threadHas(ts, "Release succeeded")
}

func TestShipDispatch5xxIsNotRepeated(t *testing.T) {
	t.Parallel()
	b := startShip(t, "2", githubtest.Workflow{}, shipSetup{})
	b.gh.Script(githubtest.RouteDispatch, githubtest.Response{Status: 502, Process: true})
	ts := b.proposeAndApprove()
	b.threadHas(ts, "did not confirm the dispatch")
	b.threadHas(ts, "Release succeeded")
	if n := len(b.gh.RequestsTo(githubtest.RouteDispatch)); n != 1 {
		t.Errorf("%d dispatch POSTs, want exactly 1", n)
	}
}

// Every dispatch answered 502 with nothing created: it is sent again three
// times, then the release fails saying so.
func TestShipNoRunEverAppears(t *testing.T) {
	t.Parallel()
	b := startShip(t, "2", githubtest.Workflow{}, shipSetup{})
	for range 4 {
		b.gh.Script(githubtest.RouteDispatch, githubtest.Response{Status: 502})
	}
	ts := b.proposeAndApprove()
	b.threadHas(ts, "no run with `prod-")
	b.threadHas(ts, "run-name")
	b.threadHas(ts, "dispatched 4 times")
	if n := len(b.gh.RequestsTo(githubtest.RouteDispatch)); n != 4 {
		t.Errorf("%d dispatch POSTs, want 4", n)
	}
}

func TestShipFiveLegsOneFailing(t *testing.T) {
	t.Parallel()
	b := startShip(t, "gen:15", githubtest.Workflow{Legs: map[string]githubtest.Leg{"service-00006": {Conclusion: "failure"}}}, shipSetup{})
	ts := b.proposeAndApprove()
	b.threadHas(ts, "Release partly failed* (<")
	b.threadHas(ts, "): 4 of 5 deployed; failed: service-00006")
	b.threadHas(ts, ":x: *service-00006*")
	for _, s := range []string{"service-00000", "service-00003", "service-00009", "service-00012"} {
		if n := b.threadCount(ts, ":white_check_mark: *"+s+"*"); n != 1 {
			t.Errorf("%s: %d replies", s, n)
		}
	}
}

func TestShipRestartMidRunPostsNoReplyTwice(t *testing.T) {
	t.Parallel()
	b := startShip(t, "gen:15", githubtest.Workflow{Duration: 400 * time.Millisecond, Legs: map[string]githubtest.Leg{
		"service-00009": {Duration: 3 * time.Second}, "service-00012": {Duration: 3 * time.Second},
	}}, shipSetup{})
	ts := b.proposeAndApprove()
	b.threadHas(ts, ":white_check_mark: *service-00000*")
	b.restart()
	b.threadHas(ts, "Release succeeded")
	for _, s := range []string{"service-00000", "service-00003", "service-00006", "service-00009", "service-00012"} {
		if n := b.threadCount(ts, "*"+s+"*"); n != 1 {
			t.Errorf("%s: %d replies after a restart", s, n)
		}
	}
}

func TestShipCancelDuringRun(t *testing.T) {
	t.Parallel()
	b := startShip(t, "2", githubtest.Workflow{Duration: 20 * time.Second}, shipSetup{})
	ts := b.proposeAndApprove()
	b.threadHas(ts, "Workflow run <")
	b.command(alice, releaseChannel, "cancel "+releaseID(b.releaseMessage())+" the run is not needed")
	b.threadHas(ts, "cancelled the release: the run is not needed")
	b.waitFor("the run cancelled", func(*slacktest.State) bool { return len(b.gh.RequestsTo(githubtest.RouteCancel)) == 1 })
	// One replica, a 20 s run, a 2 s lease: the follower must have kept it throughout.
	if strings.Contains(b.logs.String(), "lost the follow lease") {
		t.Error("the only follower lost its lease: it slept past it")
	}
}

func TestShipTimeout(t *testing.T) {
	t.Parallel()
	b := startShip(t, "2", githubtest.Workflow{Duration: 30 * time.Second}, shipSetup{timeout: "2s"})
	ts := b.proposeAndApprove()
	b.threadHas(ts, "longer than 2s")
	b.waitFor("the run cancelled", func(*slacktest.State) bool { return len(b.gh.RequestsTo(githubtest.RouteCancel)) == 1 })
}

func TestShipVerifyCatchesUpLate(t *testing.T) {
	t.Parallel()
	b := startShip(t, "2", githubtest.Workflow{}, shipSetup{late: time.Second})
	ts := b.proposeAndApprove()
	b.threadHas(ts, "Verified in aws-prod#")
}

func TestShipVerifyNever(t *testing.T) {
	t.Parallel()
	b := startShip(t, "2", githubtest.Workflow{}, shipSetup{noPromote: true})
	ts := b.proposeAndApprove()
	b.threadHas(ts, "Not verified within 3s: aws-prod#")
}

func TestShipWaitingForReviewers(t *testing.T) {
	t.Parallel()
	b := startShip(t, "2", githubtest.Workflow{Wait: 3 * time.Second}, shipSetup{})
	ts := b.proposeAndApprove()
	b.threadHas(ts, "waiting for a reviewer")
	b.threadHas(ts, "Release succeeded")
}

// TestShipResumesAnApprovalWhoseReplicaDied: a release approved but never
// dispatched (the approving replica died in between) is taken up by the
// sweep and shipped, once.
func TestShipResumesAnApprovalWhoseReplicaDied(t *testing.T) {
	t.Parallel()
	b := startShip(t, "2", githubtest.Workflow{}, shipSetup{}, func(o *serveOptions) { o.SweepEvery = 100 * time.Millisecond })
	b.command(alice, releaseChannel, "propose")
	msg := b.releaseMessage()
	id := releaseID(msg)
	st := b.store()
	r, err := st.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	// The approval lands in Redis, and nothing else happens: as if the replica died there.
	res, err := st.Approve(context.Background(), id, release.Approval{UserID: carol, At: time.Now(), Digest: r.ManifestDigest})
	if err != nil || res.Outcome != store.Approved {
		t.Fatalf("approve: %+v %v", res, err)
	}
	b.clock.Advance(3 * time.Minute)
	b.threadHas(msg.TS, "Workflow run <")
	b.threadHas(msg.TS, "Release succeeded")
	if n := len(b.gh.RequestsTo(githubtest.RouteDispatch)); n != 1 {
		t.Errorf("%d dispatches", n)
	}
}
