package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/rs/zerolog"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
	"golang.org/x/sync/errgroup"

	"github.com/release-bot/release-bot/internal/commands"
	"github.com/release-bot/release-bot/internal/config"
	"github.com/release-bot/release-bot/internal/drift"
	"github.com/release-bot/release-bot/internal/evidence"
	"github.com/release-bot/release-bot/internal/github"
	"github.com/release-bot/release-bot/internal/kosli"
	"github.com/release-bot/release-bot/internal/metrics"
	"github.com/release-bot/release-bot/internal/ops"
	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/retry"
	"github.com/release-bot/release-bot/internal/rollout"
	"github.com/release-bot/release-bot/internal/secret"
	"github.com/release-bot/release-bot/internal/slackbot"
	"github.com/release-bot/release-bot/internal/store"
	"github.com/release-bot/release-bot/schema"
)

const serveHelp = `Usage: bot serve [--config FILE] [--listen ADDR] [flags]

Runs the Slack bot over Socket Mode. Secrets and endpoints come from the
environment (SLACK_BOT_TOKEN, SLACK_APP_TOKEN, KOSLI_ORG, KOSLI_API_TOKEN, …;
see the README); pipelines from the YAML file (--config or RELEASE_BOT_CONFIG).

Flags:
`

// serveOptions is everything serve needs, read from flags and the environment.
type serveOptions struct {
	Env    config.Env
	Config *config.Config
	// Listen is the ops address (/healthz, /readyz, /metrics).
	Listen string
	// Drain is how long work in flight may finish after SIGTERM.
	Drain          time.Duration
	Workers, Queue int
	Logger         zerolog.Logger
	Now            func() time.Time
	// Mux, when set, is served on the ops address too (the sandbox's page).
	Mux *http.ServeMux
	// Started, when set, is told the ops address once the bot listens.
	Started func(opsAddr string)
	// KosliTimeout bounds reading Kosli for one command (default 30s).
	KosliTimeout time.Duration
	// DriftClock is the drift report scheduler's clock; nil means real time.
	DriftClock drift.Clock
	// FollowPoll is how often a dispatched run is looked at (default 15s);
	// LeaseTTL how long a follower's lease lasts (default 45s); FindWithin how
	// long to look for a run GitHub did not name (default 5m).
	FollowPoll, LeaseTTL, FindWithin time.Duration
	// ReplicaID names this process in leases; empty means host, pid and a random part.
	ReplicaID string
	// SweepEvery is how often expired releases are ended (default 1m).
	SweepEvery time.Duration
	// EvidencePoll is how often the evidence outbox is looked at (default
	// 2s); EvidenceBackoff and EvidenceMaxBackoff bound the wait between
	// attempts to deliver it (default 2s and 5m).
	EvidencePoll, EvidenceBackoff, EvidenceMaxBackoff time.Duration
	// ControlsEvery is how often /readyz asks Kosli whether the pipelines'
	// controls still exist (default 1m).
	ControlsEvery time.Duration
}

// replicaID names this process in leases: host, pid and a random part.
func replicaID() string {
	host, _ := os.Hostname()
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}

func runServe(ctx context.Context, args []string, io stdio, getenv func(string) string, now func() time.Time) int {
	fs := newFlags("bot serve")
	configPath := fs.String("config", "", "the pipelines file (default $RELEASE_BOT_CONFIG)")
	listen := fs.String("listen", ":8080", "address of /healthz, /readyz and /metrics")
	drain := fs.Duration("drain", 25*time.Second, "how long work in flight may finish after SIGTERM")
	workers := fs.Int("workers", 8, "commands handled at once")
	queue := fs.Int("queue", 64, "commands waiting for a worker before 'busy, try again'")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	if done, code := parseFlags(fs, args, io, serveHelp); done {
		return code
	}
	env, err := config.FromEnv(getenv)
	if err != nil {
		errorf(io.err, "bot serve: %v", err)
		return exitUsage
	}
	if *configPath == "" {
		*configPath = env.ConfigPath
	}
	if *configPath == "" {
		errorf(io.err, "bot serve: no pipelines file: pass --config FILE or set RELEASE_BOT_CONFIG")
		return exitUsage
	}
	cfg, err := config.Load(*configPath)
	if err != nil {
		errorf(io.err, "bot serve: %v", err)
		return exitUsage
	}
	if err := env.RequireServe(cfg.HasWorkflows()); err != nil {
		errorf(io.err, "bot serve: %v", err)
		return exitUsage
	}
	lvl, err := zerolog.ParseLevel(*level)
	if err != nil || *level == "" {
		errorf(io.err, "bot serve: --log-level must be debug, info, warn or error, not %q", *level)
		return exitUsage
	}
	log := zerolog.New(zerolog.SyncWriter(io.out)).Level(lvl).With().Timestamp().Str("service", "release-bot").Logger()
	err = serve(ctx, serveOptions{
		Env: env, Config: cfg, Listen: *listen, Drain: *drain, Workers: *workers, Queue: *queue,
		Logger: log, Now: now,
	})
	if err != nil {
		log.Error().Err(err).Msg("release-bot stopped")
		errorf(io.err, "bot serve: %v", err)
		return exitFailure
	}
	log.Info().Msg("release-bot stopped")
	return exitOK
}

// serve runs the bot until ctx ends: the Socket Mode loop and the ops server
// under one errgroup, state in Redis. Its phases: store → remotes (checked
// before anything listens) → workers → socket and ops server → run.
func serve(ctx context.Context, o serveOptions) error {
	m := metrics.New()
	if o.ReplicaID == "" {
		o.ReplicaID = replicaID()
	}
	st, closeStore, err := openStore(ctx, o, m)
	if err != nil {
		return err
	}
	defer closeStore()
	kc, api, err := connectRemotes(ctx, o, m)
	if err != nil {
		return err
	}
	handler, background, err := startWorkers(o, m, st, kc, api)
	if err != nil {
		return err
	}
	loop, srv, err := listen(o, m, st, kc, api, handler)
	if err != nil {
		return err
	}
	o.Logger.Info().Str("ops", srv.Addr()).Int("pipelines", len(o.Config.Pipelines)).Str("version", version).Msg("release-bot starting")
	if o.Started != nil {
		o.Started(srv.Addr())
	}
	if drift.Scheduled(o.Config.Pipelines) {
		sched := drift.New(drift.Options{Pipelines: o.Config.Pipelines, Reporter: handler, Leaser: st,
			Owner: o.ReplicaID, Clock: o.DriftClock, Logger: o.Logger})
		background = append(background, sched.Run)
	}
	return runAll(ctx, loop, srv, background)
}

// openStore connects to Redis (an embedded one when REDIS_URL is unset) and
// checks it; closeStore closes the client, then the embedded Redis.
func openStore(ctx context.Context, o serveOptions, m *metrics.Metrics) (st *store.Store, closeStore func(), err error) {
	log := o.Logger
	stopEmbedded := func() {}
	redisURL := o.Env.RedisURL.Reveal()
	if redisURL == "" {
		url, stop, err := store.Embedded()
		if err != nil {
			return nil, nil, fmt.Errorf("starting the embedded Redis: %w", err)
		}
		stopEmbedded = stop
		redisURL = url
		log.Warn().Msg("REDIS_URL is not set: running on an embedded in-memory Redis. " +
			"Releases and approvals are LOST when this process stops, and replicas cannot share them. Set REDIS_URL in production.")
	}
	rdb, err := redisClient(redisURL, o.Env.RedisPassword.Reveal())
	if err != nil {
		stopEmbedded()
		return nil, nil, err
	}
	closeStore = func() {
		if err := rdb.Close(); err != nil {
			log.Warn().Err(err).Msg("closing the Redis client")
		}
		stopEmbedded()
	}
	if err := checkRedis(ctx, rdb, redisURL, log); err != nil {
		closeStore()
		return nil, nil, err
	}
	st = store.New(rdb, store.Options{Now: o.Now, Retention: time.Duration(o.Config.Settings.Retention),
		Durable: durability(ctx, rdb, o.Config.Settings.Redis, log), OnTransition: m.Transition})
	return st, closeStore, nil
}

// connectRemotes makes the Kosli and Slack clients and checks the bot token
// and the pipelines' Kosli controls, so that a wrong one stops the start.
func connectRemotes(ctx context.Context, o serveOptions, m *metrics.Metrics) (*kosli.Client, *slackbot.API, error) {
	kc, err := kosli.New(kosli.Options{
		Host: o.Env.KosliHost, Org: o.Env.KosliOrg, Token: o.Env.KosliAPIToken,
		UserAgent: "release-bot/" + version, Logger: o.Logger, Observe: m.ObserveKosli,
	})
	if err != nil {
		return nil, nil, err
	}
	m.Endpoints(metrics.Slack, slackbot.Methods()...)
	api := slackbot.NewAPI(slackbot.APIOptions{
		BotToken: o.Env.SlackBotToken, AppToken: o.Env.SlackAppToken, APIURL: o.Env.SlackAPIURL, Logger: o.Logger,
		Observe: m.Observer(metrics.Slack),
	})
	// A wrong bot token would otherwise show only when the first command
	// is answered: /readyz would say ready on the app token alone.
	// https://api.slack.com/methods/auth.test
	if _, err := api.Client().AuthTestContext(ctx); err != nil {
		return nil, nil, slackTokenError("SLACK_BOT_TOKEN", "auth.test", err)
	}
	if err := checkControls(ctx, kc, o.Config, o.Env.KosliOrg); err != nil {
		return nil, nil, err
	}
	return kc, api, nil
}

// startWorkers makes the command handler and the loops that work beside
// it: the evidence outbox, the rollout (when a pipeline has a workflow),
// the sweep of expired releases, the approvers' nudges and the Home tabs'
// refreshes.
func startWorkers(o serveOptions, m *metrics.Metrics, st *store.Store, kc *kosli.Client, api *slackbot.API) (*commands.Handler, []func(context.Context) error, error) {
	log := o.Logger
	var background []func(context.Context) error
	sweep := o.SweepEvery
	if sweep <= 0 {
		sweep = time.Minute
	}
	handler := commands.New(commands.Deps{
		Config: o.Config, Slack: api, Kosli: kc,
		Links: release.Links{Host: o.Env.KosliHost, Org: o.Env.KosliOrg},
		Now:   o.Now, Logger: log, Metrics: m, KosliTimeout: o.KosliTimeout,
		Releases: st, People: api, Gate: kc, Views: api, Freezes: st, DMs: api, Mutes: st,
		Home: api, HomeStore: st,
	})
	// The outbox retries with its own backoff, across restarts: its client
	// tries each request once, so a failure is known (and told) at once.
	ekc, err := kosli.New(kosli.Options{
		Host: o.Env.KosliHost, Org: o.Env.KosliOrg, Token: o.Env.KosliAPIToken,
		UserAgent: "release-bot/" + version, Logger: log, Observe: m.ObserveKosli, Retry: retry.Policy{Attempts: 1},
	})
	if err != nil {
		return nil, nil, err
	}
	outbox := evidence.New(evidence.Options{
		Store: st, Kosli: ekc, People: api, Config: o.Config, PromotionSchema: schema.PromotionMatrixJSON(),
		Owner: o.ReplicaID, OnChange: handler.EvidenceChanged, Metrics: m, Now: o.Now, Logger: log,
		Poll: o.EvidencePoll, MinBackoff: o.EvidenceBackoff, MaxBackoff: o.EvidenceMaxBackoff,
	})
	handler.SetEvidence(outbox)
	background = append(background, outbox.Run)
	if o.Config.HasWorkflows() {
		ro, err := newRollout(o, m, st, kc, api, handler)
		if err != nil {
			return nil, nil, err
		}
		handler.SetDispatcher(ro)
		background = append(background, ro.Run)
	}
	background = append(background, func(ctx context.Context) error { return handler.SweepEvery(ctx, sweep) }, handler.NudgeLoop, handler.HomeLoop)
	return handler, background, nil
}

// newRollout makes the GitHub client, with a token or as a GitHub App, and
// the rollout that dispatches and follows its workflow runs.
func newRollout(o serveOptions, m *metrics.Metrics, st *store.Store, kc *kosli.Client, api *slackbot.API, handler *commands.Handler) (*rollout.Rollout, error) {
	m.Endpoints(metrics.GitHub, github.Endpoints()...)
	gopts := github.Options{BaseURL: o.Env.GitHubAPIURL, Token: o.Env.GitHubToken, Logger: o.Logger, UserAgent: "release-bot/" + version, Clock: o.Now,
		Observe: m.Observer(metrics.GitHub)}
	if o.Env.UsesGitHubApp() {
		gopts.Token = secret.Secret{}
		gopts.App = &github.App{AppID: o.Env.GitHubAppID, InstallationID: o.Env.GitHubAppInstallationID, PrivateKeyFile: o.Env.GitHubAppPrivateKeyFile}
	}
	gh, err := github.New(gopts)
	if err != nil {
		return nil, fmt.Errorf("GitHub: %w", err)
	}
	return rollout.New(rollout.Options{
		Config: o.Config, Runs: gh, Releases: st, Thread: handler, Replies: api, Kosli: kc,
		Owner: o.ReplicaID, Now: o.Now, Logger: o.Logger,
		Poll: o.FollowPoll, Scan: o.FollowPoll, VerifyPoll: o.FollowPoll, LeaseTTL: o.LeaseTTL, FindWithin: o.FindWithin,
	}), nil
}

// listen makes the Socket Mode loop and opens the ops address, whose
// /readyz checks the socket, Redis and the pipelines' Kosli controls.
func listen(o serveOptions, m *metrics.Metrics, st *store.Store, kc *kosli.Client, api *slackbot.API, handler *commands.Handler) (*slackbot.Loop, *ops.Server, error) {
	loop, err := slackbot.New(slackbot.Options{
		Socket: socketmode.New(api.Client()), Handler: handler, Dedup: st, Busy: api,
		Workers: o.Workers, Queue: o.Queue, Drain: o.Drain, Logger: o.Logger, Metrics: m,
	})
	if err != nil {
		return nil, nil, err
	}
	srv, err := ops.New(ops.Options{
		Listen: o.Listen, Registry: m.Registry, Logger: o.Logger, Mux: o.Mux,
		Ready: map[string]ops.Check{
			"socket": func(context.Context) error {
				if !loop.Connected() {
					return errors.New("socket mode is not connected")
				}
				return nil
			},
			"redis":          st.Ping,
			"kosli-controls": controlsCheck(kc, o.Config, o.ControlsEvery),
		},
	})
	if err != nil {
		return nil, nil, fmt.Errorf("listening on %s: %w", o.Listen, err)
	}
	return loop, srv, nil
}

// runAll runs the loop, the ops server and the background loops under one
// errgroup until ctx ends or one of them fails.
func runAll(ctx context.Context, loop *slackbot.Loop, srv *ops.Server, background []func(context.Context) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		// The loop ending (SIGTERM or a fatal Slack error) ends the ops server too.
		err := loop.Run(gctx)
		if refusedToken(err) {
			err = slackTokenError("SLACK_APP_TOKEN", "apps.connections.open", err)
		}
		if err == nil && ctx.Err() == nil {
			err = errors.New("socket mode loop ended")
		}
		return err
	})
	g.Go(func() error { return srv.Run(gctx) })
	for _, run := range background {
		g.Go(func() error { return run(gctx) })
	}
	err := g.Wait()
	if ctx.Err() != nil && err == nil {
		return nil
	}
	return err
}

// refusedToken reports whether Slack refused a call's token, with one of the
// errors its methods document for a bad token
// (https://api.slack.com/methods/auth.test#errors).
func refusedToken(err error) bool {
	var se slack.SlackErrorResponse
	if !errors.As(err, &se) {
		return false
	}
	switch se.Err {
	case "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired", "not_allowed_token_type":
		return true
	}
	return false
}

// slackTokenError names the variable whose token Slack refused, or that
// could not be checked; it never holds the token, which slack-go sends in a
// header and does not put in its errors.
func slackTokenError(variable, method string, err error) error {
	if refusedToken(err) {
		return fmt.Errorf("%s was refused by Slack's %s: %w", variable, method, err)
	}
	return fmt.Errorf("checking %s with Slack's %s: %w", variable, method, err)
}
