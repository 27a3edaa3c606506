package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/release-bot/release-bot/internal/config"
	"github.com/release-bot/release-bot/internal/github/githubtest"
	"github.com/release-bot/release-bot/internal/kosli/kositest"
	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/sandbox"
	"github.com/release-bot/release-bot/internal/secret"
	"github.com/release-bot/release-bot/internal/slackbot/slacktest"
	"github.com/release-bot/release-bot/internal/store"
)

const sandboxHelp = `Usage: bot sandbox [--listen ADDR] [--tour] [--fail SERVICE]

Runs the whole release flow on this machine with no accounts: an embedded
Redis, a fake Kosli seeded from cyber-dojo's environments, a fake GitHub that
runs the promotion workflow, a fake Slack, and the real bot against them. Open
the printed address to use the release channel in a browser.

Flags:
`

//go:embed sandboxdata/aws-beta-aws-prod.json
var sandboxDiff []byte

// The sandbox's people and places.
const (
	sandboxChannel   = "C0SANDBOX01"
	sandboxProposer  = "U0PAT000001"
	sandboxApprover1 = "U0ALEX00001"
	sandboxApprover2 = "U0SAM000001"
	sandboxGuest     = "U0GUS000001"
	sandboxOrg       = "cyber-dojo"
	sandboxKosliKey  = "sandbox-kosli-api-key"
	sandboxGitHubKey = "ghp_sandboxGitHubToken000000000000"
	sandboxRepo      = "cyber-dojo/aws-prod-co-promotion"
	sandboxControl   = "release-approved"
)

// sandboxPolicy is aws-prod's environment policy, as deploy/kosli/environment-policy.yml has it.
const sandboxPolicy = `_schema: https://kosli.com/schemas/policy/environment/v1
artifacts:
  provenance:
    required: true
  attestations:
    - name: decision
      type: decision
      for_control: ` + sandboxControl + "\n"

const sandboxConfig = `
pipelines:
  - name: prod
    from: aws-beta
    to: aws-prod
    channel: C0SANDBOX01
    approvals: { required: 2, approvers: ["@release-managers"], allow_self_approval: false, expire_after: 24h }
    evidence: { flow: production-promotion, control: release-approved }
    workflow: { repo: cyber-dojo/aws-prod-co-promotion, file: promote.yml, ref: main, timeout: 30m }
    verify: { timeout: 2m }
    gate: warn
    break_glass: { allowed: ["U0PAT000001"], required: 2, review_within: 24h }
`

// sandboxWorld is everything the bot talks to, faked, in this process.
type sandboxWorld struct {
	slack *slacktest.Server
	kosli *kositest.Server
	gh    *githubtest.Server
	env   config.Env
	cfg   *config.Config
	users []sandbox.User
	close []func()
}

func (w *sandboxWorld) Close() {
	for i := len(w.close) - 1; i >= 0; i-- {
		w.close[i]()
	}
}

// newSandboxWorld starts the fakes and seeds them: staging (aws-beta) runs
// four services newer than production (aws-prod) and one new service; one
// artifact is not compliant for production.
func newSandboxWorld(failService string, legTime time.Duration) (*sandboxWorld, error) {
	w := &sandboxWorld{}
	ok := false
	defer func() {
		if !ok {
			w.Close()
		}
	}()

	w.slack = slacktest.New(slacktest.Options{TeamID: "T0SANDBOX01"})
	w.slack.Start()
	w.close = append(w.close, w.slack.Close)
	w.slack.AddChannel(sandboxChannel, "releases")
	w.users = []sandbox.User{
		{ID: sandboxProposer, Name: "pat", Role: sandbox.RoleProposer},
		{ID: sandboxApprover1, Name: "alex", Role: sandbox.RoleApprover},
		{ID: sandboxApprover2, Name: "sam", Role: sandbox.RoleApprover},
		{ID: sandboxGuest, Name: "gus", Role: sandbox.RoleGuest},
	}
	for _, u := range w.users {
		w.slack.AddUser(slacktest.User{ID: u.ID, Name: u.Name, IsRestricted: u.Role == sandbox.RoleGuest})
	}
	w.slack.AddUsergroup("S0RELMGRS01", "release-managers", sandboxProposer, sandboxApprover1, sandboxApprover2)

	w.kosli = kositest.New(sandboxOrg, sandboxKosliKey)
	kosliURL := w.kosli.Start(kositest.Prefix)
	w.close = append(w.close, w.kosli.Close)
	d, err := release.ParseDiff(sandboxDiff)
	if err != nil {
		return nil, err
	}
	const newFP = "5a7e0b8c2f6d4e1a9b3c7d5e2f8a0b4c6d1e3f5a7b9c2d4e6f8a0b1c3d5e7f90"
	d.Source.Artifacts = append(d.Source.Artifacts, release.Artifact{
		Fingerprint: newFP, Flow: "shortener-ci", InstanceCount: 2,
		Name:                "244531986313.dkr.ecr.eu-central-1.amazonaws.com/shortener:4f2a9c1@sha256:" + newFP,
		CommitURL:           "https://github.com/cyber-dojo/shortener/commit/4f2a9c1e8d7b6a5f4e3d2c1b0a9f8e7d6c5b4a39",
		MostRecentTimestamp: release.Timestamp(time.Now().Add(-27 * time.Hour).Unix()),
	})
	// Waits that read like a real queue: hours to days.
	for i := range d.Source.Artifacts {
		if d.Source.Artifacts[i].Flow != "shortener-ci" {
			d.Source.Artifacts[i].MostRecentTimestamp = release.Timestamp(time.Now().Add(-time.Duration(5+i*19) * time.Hour).Unix())
		}
	}
	if err := w.kosli.LoadDiff("aws-beta", "aws-prod", d); err != nil {
		return nil, err
	}
	// aws-prod's policy is the one deploy/kosli/ sets up: provenance and the
	// release's decision for the control. Until a release records it, each
	// incoming artifact awaits its approval; once recorded, Kosli's assert
	// (and the workflow's gate) finds it compliant.
	w.kosli.AddControl(sandboxControl, "Release approved")
	if err := w.kosli.AttachPolicy("aws-prod", sandboxPolicy); err != nil {
		return nil, err
	}
	for _, a := range d.Source.Artifacts {
		w.kosli.SetVerdict(a.Fingerprint, "aws-beta", kositest.Verdict{Compliant: true})
		if strings.HasPrefix(a.Flow, "languages-start-points") {
			w.kosli.SetVerdict(a.Fingerprint, "aws-prod", kositest.Verdict{Compliant: false, Policies: []kositest.PolicyResult{{Name: "prod-requirements", FailingRules: []string{"pull-request"}}}})
		}
	}

	if failService != "" {
		var known []string
		for _, a := range d.Source.Artifacts {
			known = append(known, release.ServiceName(a.Flow))
		}
		slices.Sort(known)
		known = slices.Compact(known)
		if !slices.Contains(known, failService) {
			return nil, &sandboxUsageError{fmt.Sprintf("--fail %q names no service of the sandbox (services: %s)", failService, strings.Join(known, ", "))}
		}
	}

	w.gh = githubtest.New(sandboxGitHubKey)
	ghURL := w.gh.Start(githubtest.Prefix)
	w.close = append(w.close, w.gh.Close)
	legs := map[string]githubtest.Leg{}
	if failService != "" {
		legs[failService] = githubtest.Leg{Conclusion: "failure"}
	}
	w.gh.AddWorkflow(githubtest.Workflow{Repo: sandboxRepo, File: "promote.yml", QueueFor: time.Second, Duration: legTime, Legs: legs})
	w.gh.OnRunCompleted(func(run githubtest.Run) { promoteDeployed(w.kosli, run) })

	cfg, err := config.Parse("sandbox.yaml", []byte(sandboxConfig))
	if err != nil {
		return nil, err
	}
	w.cfg = cfg
	redisURL, stopRedis, err := store.Embedded()
	if err != nil {
		return nil, err
	}
	w.close = append(w.close, stopRedis)
	w.env = config.Env{
		SlackBotToken: secret.New(w.slack.Options().BotToken), SlackAppToken: secret.New(w.slack.Options().AppToken),
		SlackAPIURL: w.slack.APIURL(), KosliHost: strings.TrimRight(kosliURL, "/"), KosliOrg: sandboxOrg,
		KosliAPIToken: secret.New(sandboxKosliKey), RedisURL: secret.New(redisURL),
		GitHubToken: secret.New(sandboxGitHubKey), GitHubAPIURL: strings.TrimRight(ghURL, "/") + "/",
	}
	ok = true
	return w, nil
}

// promoteDeployed plays the deploy in Kosli: production now runs what the
// run's successful legs deployed.
func promoteDeployed(k *kositest.Server, run githubtest.Run) {
	fps, err := deployedFingerprints(run)
	if err != nil {
		return
	}
	// Kosli's environment reporter sees a deploy a little after it ends.
	// A rollback deploys artifacts aws-beta no longer runs: those that ran before.
	time.AfterFunc(2*time.Second, func() {
		if k.Promote("aws-beta", "aws-prod", fps) == 0 {
			k.Deploy("aws-prod", fps)
		}
	})
}

// deployedFingerprints are the fingerprints a finished run's successful legs
// deployed, read from its promotions input (the default matrix style).
func deployedFingerprints(run githubtest.Run) ([]string, error) {
	var items []struct{ Service, Digest string }
	if err := json.Unmarshal([]byte(run.Inputs["promotions"]), &items); err != nil {
		return nil, fmt.Errorf("promotions input: %w", err)
	}
	var fps []string
	for _, it := range items {
		for _, j := range run.Jobs {
			if j.Service == it.Service && j.Conclusion == "success" {
				fps = append(fps, strings.TrimPrefix(it.Digest, "sha256:"))
			}
		}
	}
	return fps, nil
}

// sandboxUsageError is a flag naming something the sandbox does not have.
type sandboxUsageError struct{ msg string }

func (e *sandboxUsageError) Error() string { return e.msg }

func runSandbox(ctx context.Context, args []string, io stdio, _ func(string) string, now func() time.Time) int {
	fs := newFlags("bot sandbox")
	listen := fs.String("listen", "localhost:8080", "address of the sandbox page (and /healthz, /metrics)")
	tour := fs.Bool("tour", false, "drive a whole release (diff, propose, two approvals, deploy, verify), then its rollback, and exit 0 when both succeeded")
	fail := fs.String("fail", "", "make this service's deploy leg fail (e.g. web)")
	emergency := fs.Bool("emergency", false, "with --tour: Alex freezes the pipeline first, and Pat's release is a break-glass one that ships through the freeze")
	legTime := fs.Duration("leg-time", 4*time.Second, "how long each deploy leg takes")
	if done, code := parseFlags(fs, args, io, sandboxHelp); done {
		return code
	}
	w, err := newSandboxWorld(*fail, *legTime)
	if err != nil {
		errorf(io.err, "bot sandbox: %v", err)
		if _, usage := errors.AsType[*sandboxUsageError](err); usage {
			return exitUsage
		}
		return exitFailure
	}
	defer w.Close()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	log := zerolog.New(zerolog.ConsoleWriter{Out: zerolog.SyncWriter(io.err), NoColor: true, TimeFormat: "15:04:05"}).Level(zerolog.InfoLevel).With().Timestamp().Logger()
	page := &sandbox.Page{Slack: w.slack, Channel: sandboxChannel, ChannelName: "releases", Users: w.users, Logger: log, Done: ctx.Done()}
	mux := http.NewServeMux()
	mux.Handle(sandbox.Prefix, page.Handler())
	mux.Handle("GET /{$}", http.RedirectHandler(sandbox.Prefix, http.StatusFound))

	started := make(chan string, 1)
	served := make(chan error, 1)
	go func() {
		served <- serve(ctx, serveOptions{
			Env: w.env, Config: w.cfg, Listen: *listen, Drain: 5 * time.Second, Workers: 8, Queue: 64,
			Logger: log, Now: now, Mux: mux, Started: func(addr string) { started <- addr },
			FollowPoll: time.Second, LeaseTTL: 10 * time.Second,
		})
	}()
	var addr string
	select {
	case addr = <-started:
	case err := <-served:
		errorf(io.err, "bot sandbox: %v", err)
		return exitFailure
	}
	url := "http://" + strings.Replace(addr, "127.0.0.1", "localhost", 1) + sandbox.Prefix
	fmt.Fprintf(io.out, "release-bot sandbox: open %s\n", url)
	fmt.Fprintf(io.out, "Act as pat (proposer), alex and sam (approvers) or gus (a guest); try /release diff, then /release propose.\n")

	if *tour {
		err := runTour(ctx, w, io, *emergency)
		cancel()
		if serr := <-served; err == nil && serr != nil {
			err = fmt.Errorf("the bot stopped with an error: %w", serr)
		}
		if err != nil {
			errorf(io.err, "bot sandbox --tour: %v", err)
			return exitFailure
		}
		fmt.Fprintln(io.out, "tour: the release succeeded and was verified in Kosli")
		return exitOK
	}
	if err := <-served; err != nil && !errors.Is(err, context.Canceled) {
		errorf(io.err, "bot sandbox: %v", err)
		return exitFailure
	}
	return exitOK
}
