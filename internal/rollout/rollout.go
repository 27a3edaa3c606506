// Package rollout ships approved releases: it dispatches the pipeline's
// GitHub Actions workflow exactly once, follows the run under a Redis lease
// (so one replica follows it and another takes over if that one goes away),
// answers once per artifact in the release's thread as each deploy leg ends,
// and verifies in Kosli that the target environment runs what was shipped.
package rollout

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/slack-go/slack"

	"github.com/release-bot/release-bot/internal/config"
	"github.com/release-bot/release-bot/internal/github"
	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/retry"
	"github.com/release-bot/release-bot/internal/slackbot"
	"github.com/release-bot/release-bot/internal/store"
)

// Runs is what rollout needs of GitHub Actions.
type Runs interface {
	Dispatch(ctx context.Context, wf github.Workflow, inputs map[string]string, releaseID string) (github.DispatchResult, error)
	FindRun(ctx context.Context, wf github.Workflow, releaseID string, since time.Time) (github.Run, bool, error)
	GetRun(ctx context.Context, wf github.Workflow, runID int64) (github.Run, error)
	Jobs(ctx context.Context, wf github.Workflow, runID int64) ([]github.Job, error)
	CancelRun(ctx context.Context, wf github.Workflow, runID int64) error
}

var _ Runs = (*github.Client)(nil)

// Releases is the release state store, with its dedup keys and leases.
type Releases interface {
	Get(ctx context.Context, id string) (*release.Release, error)
	Manifest(ctx context.Context, id string) ([]byte, error)
	Active(ctx context.Context, pipeline string) (*release.Release, error)
	Transition(ctx context.Context, id string, to release.State, opts store.TransitionOpts) (*release.Release, error)
	Amend(ctx context.Context, id string, version int64, update func(*release.Release)) (*release.Release, error)
	Once(ctx context.Context, key string, ttl time.Duration) (bool, error)
	ClaimReply(ctx context.Context, key, owner string, ttl time.Duration) (store.ReplyClaim, error)
	RenewReply(ctx context.Context, key, owner string, ttl time.Duration) (bool, error)
	MarkReplyPosted(ctx context.Context, key, owner string) error
	LastAttempt(ctx context.Context, key string) (store.Attempt, error)
	SetAttempt(ctx context.Context, key string, n int, next store.Attempt, ttl time.Duration) (bool, error)
	AcquireLease(ctx context.Context, name, owner string, ttl time.Duration) (bool, error)
	RenewLease(ctx context.Context, name, owner string, ttl time.Duration) (bool, error)
	ReleaseLease(ctx context.Context, name, owner string) (bool, error)
}

var _ Releases = (*store.Store)(nil)

// Thread answers in a release's Slack thread and keeps its parent message
// current. Both tell of a change already made, so both must go out even when
// ctx is cancelled by shutdown just after it (bounded by the implementation).
type Thread interface {
	Reply(ctx context.Context, r *release.Release, text string)
	Refresh(ctx context.Context, id string) *release.Release
}

// ThreadReader reads a release's thread, to tell whether a reply whose
// claim lapsed (its replica died posting it) is there already.
type ThreadReader interface {
	Replies(ctx context.Context, channel, threadTS string) ([]slack.Message, error)
}

var _ ThreadReader = (*slackbot.API)(nil)

// Options configures a Rollout.
type Options struct {
	Config   *config.Config
	Runs     Runs
	Releases Releases
	Thread   Thread
	// Kosli reads what the target runs, for the verify step.
	Kosli release.RunningReader
	// Replies reads threads for replies that may be out already; without
	// it such a reply is posted again.
	Replies ThreadReader
	// Owner names this replica in leases (hostname, pid, random).
	Owner string
	// Poll is the interval between looks at a run (default 15s); it backs
	// off to MaxPoll (default 30s) while nothing changes. Looks at an
	// unchanged run are answered 304 and cost no rate limit.
	Poll, MaxPoll time.Duration
	// Scan is how often open releases are checked for a follower (default 10s).
	Scan time.Duration
	// LeaseTTL is how long a follower's lease, and its claim on a thread
	// reply, last unrenewed (default 45s): another replica takes over that
	// long after one dies.
	LeaseTTL time.Duration
	// FindWithin is how long to look for a run GitHub did not name (default 5m).
	FindWithin time.Duration
	// Redispatches is how many times a dispatch GitHub answered with a 5xx
	// is sent again when no run of it appeared within FindWithin (default 3).
	Redispatches int
	// VerifyPoll is the interval between looks at the target in Kosli (default 15s).
	VerifyPoll time.Duration
	Now        func() time.Time
	Logger     zerolog.Logger
}

// Rollout dispatches and follows releases of pipelines with a workflow. It
// implements commands.Dispatcher.
type Rollout struct {
	o    Options
	wake chan struct{}

	mu        sync.Mutex
	following map[string]bool
	// posted remembers, per release, the replies known to be in the thread,
	// to spare Redis a look; kept until the release ends, as this replica
	// may follow it again after losing its lease.
	posted map[string]map[string]bool
	// unchecked counts, per reply, the looks at its thread that failed.
	unchecked map[string]int
	wg        sync.WaitGroup
}

// New applies defaults.
func New(o Options) *Rollout {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.Poll, 15*time.Second)
	def(&o.MaxPoll, 30*time.Second)
	def(&o.Scan, 10*time.Second)
	def(&o.LeaseTTL, 45*time.Second)
	def(&o.FindWithin, 5*time.Minute)
	def(&o.VerifyPoll, 15*time.Second)
	if o.Redispatches <= 0 {
		o.Redispatches = 3
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	// A follower renews its lease once per look: it must never sleep past it.
	o.MaxPoll = min(o.MaxPoll, o.LeaseTTL/2)
	o.Poll = min(o.Poll, o.MaxPoll)
	o.VerifyPoll = min(o.VerifyPoll, o.LeaseTTL/2)
	return &Rollout{o: o, wake: make(chan struct{}, 1), following: map[string]bool{},
		posted: map[string]map[string]bool{}, unchecked: map[string]int{}}
}

const onceTTL = 30 * 24 * time.Hour

func workflowOf(p *config.Pipeline) github.Workflow {
	return github.Workflow{Owner: p.Workflow.Repo.Owner, Repo: p.Workflow.Repo.Name, File: p.Workflow.File, Ref: p.Workflow.Ref}
}

// Dispatch starts the release's workflow run, once ever: the intent is
// recorded in Redis before the POST, and a dispatch whose answer was lost is
// looked for, never sent again.
func (r *Rollout) Dispatch(ctx context.Context, rel *release.Release, p *config.Pipeline) error {
	log := r.o.Logger.With().Str("release_id", rel.ID).Logger()
	if p.Workflow == nil {
		// commands answers a pipeline without a workflow itself; this is a wiring mistake.
		return fmt.Errorf("pipeline %s has no workflow to dispatch", p.Name)
	}
	first, err := r.o.Releases.Once(ctx, "dispatch:"+rel.ID, onceTTL)
	if err != nil {
		return fmt.Errorf("recording the dispatch intent: %w", err)
	}
	if !first {
		log.Warn().Msg("dispatch already attempted: not sending it again")
		return nil
	}
	det, err := rel.ReadDetails()
	if err != nil {
		return err
	}
	now := r.o.Now()
	rel, err = r.o.Releases.Amend(ctx, rel.ID, 0, func(x *release.Release) { x.Run = &release.Run{DispatchedAt: now} })
	if err != nil {
		return err
	}
	wf := workflowOf(p)
	res, err := r.o.Runs.Dispatch(ctx, wf, det.Inputs, rel.ID)
	var ambiguous *github.AmbiguousDispatchError
	switch {
	case errors.As(err, &ambiguous):
		log.Warn().Err(err).Msg("dispatch answer lost: looking for the run")
		r.ambiguous(ctx, rel.ID, 0, store.Attempt{N: 1, At: now}, log)
		r.o.Thread.Reply(ctx, rel, fmt.Sprintf(":hourglass: GitHub did not confirm the dispatch of `%s`; I am looking for its run rather than dispatching twice.", wf))
	case err != nil:
		r.refused(ctx, rel, wf, err, log)
		return nil
	case res.Found:
		r.started(ctx, rel, github.Run{ID: res.RunID, URL: res.RunURL, HTMLURL: res.HTMLURL, Status: github.StatusQueued})
	default:
		r.o.Thread.Reply(ctx, rel, fmt.Sprintf(":rocket: Dispatched `%s`; waiting for GitHub to show its run.", wf))
	}
	r.Poke()
	return nil
}

// refused ends a release whose dispatch GitHub refused.
func (r *Rollout) refused(ctx context.Context, rel *release.Release, wf github.Workflow, err error, log zerolog.Logger) {
	log.Error().Err(err).Msg("dispatch refused")
	r.finish(ctx, rel, release.Failed, "dispatch refused", fmt.Sprintf(":x: GitHub refused to start `%s`: %s. Check that the workflow exists on `%s` with `on: workflow_dispatch` and these inputs, "+
		"and that the token may run Actions. Nothing was deployed.", wf, dispatchProblem(err), wf.Ref))
}

// started records the run on the release and moves it to deploying.
func (r *Rollout) started(ctx context.Context, rel *release.Release, run github.Run) {
	next, err := r.o.Releases.Transition(ctx, rel.ID, release.Deploying, store.TransitionOpts{
		From: []release.State{release.Dispatching}, Note: fmt.Sprintf("workflow run %d", run.ID),
		Update: func(x *release.Release) {
			at := time.Time{}
			if x.Run != nil {
				at = x.Run.DispatchedAt
			}
			x.Run = &release.Run{ID: run.ID, URL: run.URL, HTMLURL: run.HTMLURL, Status: run.Status, Conclusion: run.Conclusion, DispatchedAt: at}
		},
	})
	if err != nil {
		r.o.Logger.Warn().Err(err).Str("release_id", rel.ID).Msg("could not record the run")
		return
	}
	r.o.Thread.Refresh(ctx, next.ID)
	r.o.Thread.Reply(ctx, next, fmt.Sprintf(":rocket: Workflow run <%s|#%d> started.", run.HTMLURL, run.ID))
}

// Cancel stops the release's workflow run, if it has one.
func (r *Rollout) Cancel(ctx context.Context, rel *release.Release, p *config.Pipeline) error {
	if p.Workflow == nil || rel.Run == nil || rel.Run.ID == 0 {
		return nil
	}
	return r.o.Runs.CancelRun(ctx, workflowOf(p), rel.Run.ID)
}

// Poke makes the follower loop look for work now.
func (r *Rollout) Poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run follows dispatched releases until ctx ends, then waits for its
// followers to let go of their leases.
func (r *Rollout) Run(ctx context.Context) error {
	t := time.NewTicker(r.o.Scan)
	defer t.Stop()
	defer r.wg.Wait()
	for {
		r.scan(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-r.wake:
		}
	}
}

// scan starts a follower for each dispatched release nobody follows.
func (r *Rollout) scan(ctx context.Context) {
	for _, p := range r.o.Config.Pipelines {
		if p.Workflow == nil {
			continue
		}
		rel, err := r.o.Releases.Active(ctx, p.Name)
		if err != nil {
			if ctx.Err() == nil {
				r.o.Logger.Warn().Err(err).Str("pipeline", p.Name).Msg("scan for releases to follow")
			}
			continue
		}
		if rel == nil || (rel.State != release.Dispatching && rel.State != release.Deploying) {
			continue
		}
		r.mu.Lock()
		busy := r.following[rel.ID]
		r.mu.Unlock()
		if busy {
			continue
		}
		ok, err := r.o.Releases.AcquireLease(ctx, leaseName(rel.ID), r.o.Owner, r.o.LeaseTTL)
		if err != nil || !ok {
			continue
		}
		r.mu.Lock()
		r.following[rel.ID] = true
		r.mu.Unlock()
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.follow(ctx, rel.ID, p)
		}()
	}
}

func leaseName(id string) string { return "follow:" + id }

// follow looks at one release's run until it ends, renewing its lease.
func (r *Rollout) follow(ctx context.Context, id string, p *config.Pipeline) {
	log := r.o.Logger.With().Str("release_id", id).Logger()
	log.Info().Str("owner", r.o.Owner).Msg("following the release's run")
	defer func() {
		if rec := recover(); rec != nil {
			log.Error().Interface("panic", rec).Str("stack", string(debug.Stack())).Msg("follower panicked")
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		if _, err := r.o.Releases.ReleaseLease(rctx, leaseName(id), r.o.Owner); err != nil {
			log.Warn().Err(err).Msg("could not release the follow lease")
		}
		r.mu.Lock()
		delete(r.following, id)
		r.mu.Unlock()
	}()
	interval := r.o.Poll
	for ctx.Err() == nil {
		if ok, err := r.o.Releases.RenewLease(ctx, leaseName(id), r.o.Owner, r.o.LeaseTTL); err != nil || !ok {
			log.Info().Err(err).Msg("lost the follow lease: another replica follows")
			return
		}
		rel, err := r.o.Releases.Get(ctx, id)
		if err != nil {
			log.Warn().Err(err).Msg("reading the release")
		} else if rel.State != release.Dispatching && rel.State != release.Deploying {
			return
		} else {
			changed, done := r.step(ctx, rel, p, log)
			if done {
				return
			}
			if changed {
				interval = r.o.Poll
			} else {
				interval = min(interval*2, r.o.MaxPoll)
			}
		}
		if retry.Sleep(ctx, interval) != nil {
			return
		}
	}
}
