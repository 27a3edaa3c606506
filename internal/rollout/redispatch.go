package rollout

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/release-bot/release-bot/internal/config"
	"github.com/release-bot/release-bot/internal/github"
	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/store"
)

// A dispatch GitHub answered with a 5xx (or a timeout) may or may not have
// started a run. The bot looks for it for FindWithin; when the run list
// still shows no run naming the release, the dispatch did nothing and is
// sent again, at most Redispatches times. The attempts are one record in
// Redis, moved on by compare-and-set, so that of the replicas that see the
// same empty list one only dispatches again; an attempt is retryable only
// once its own answer was a 5xx, so a dispatch GitHub accepted, or one whose
// replica died before the answer, is never repeated.

func attemptKey(id string) string { return "dispatch:" + id }

// ambiguous records that attempt next, which the record held at n before
// (0: none), got no answer that proves what GitHub did.
func (r *Rollout) ambiguous(ctx context.Context, id string, n int, next store.Attempt, log zerolog.Logger) {
	next.Retryable = true
	if _, err := r.o.Releases.SetAttempt(ctx, attemptKey(id), n, next, onceTTL); err != nil {
		log.Warn().Err(err).Int("attempt", next.N).Msg("could not record the unconfirmed dispatch: it will not be sent again")
	}
}

// noRun is step once no run naming the release has appeared within
// FindWithin of the first dispatch: it waits out a later attempt's
// FindWithin, dispatches again after an unconfirmed one, or fails the release.
func (r *Rollout) noRun(ctx context.Context, rel *release.Release, p *config.Pipeline, dispatched time.Time, log zerolog.Logger) (changed, done bool) {
	wf := workflowOf(p)
	now := r.o.Now()
	a, err := r.o.Releases.LastAttempt(ctx, attemptKey(rel.ID))
	if err != nil {
		log.Warn().Err(err).Msg("reading the dispatch attempts")
		return false, false
	}
	if a.At.After(dispatched) && now.Sub(a.At) <= r.o.FindWithin {
		return false, false
	}
	if a.Retryable && a.N <= r.o.Redispatches {
		return r.redispatch(ctx, rel, p, a, log), false
	}
	tries := ""
	if a.N > 1 {
		tries = fmt.Sprintf(" (dispatched %d times: GitHub confirmed none)", a.N)
	}
	r.finish(ctx, rel, release.Failed, "no workflow run appeared", fmt.Sprintf(":x: `%s` was dispatched %s ago%s but no run with `%s` in its name has appeared. "+
		"Check in GitHub that the workflow is enabled, that its `run-name` shows the `release_id` input, and the Actions tab of `%s/%s`. Nothing is known to be deployed.",
		wf, release.HumanDuration(now.Sub(dispatched)), tries, rel.ID, wf.Owner, wf.Repo))
	return true, true
}

// redispatch sends attempt a.N+1 of the release's dispatch, if this replica
// is the one that moves the attempt record on. It reports whether it did.
func (r *Rollout) redispatch(ctx context.Context, rel *release.Release, p *config.Pipeline, a store.Attempt, log zerolog.Logger) bool {
	wf := workflowOf(p)
	n, now := a.N+1, r.o.Now()
	won, err := r.o.Releases.SetAttempt(ctx, attemptKey(rel.ID), a.N, store.Attempt{N: n, At: now}, onceTTL)
	if err != nil || !won {
		if err != nil {
			log.Warn().Err(err).Msg("recording the next dispatch attempt")
		}
		return false
	}
	log = log.With().Int("attempt", n).Logger()
	log.Warn().Msg("no run appeared after an unconfirmed dispatch: dispatching again")
	r.o.Thread.Reply(ctx, rel, fmt.Sprintf(":repeat: No run of `%s` naming `%s` appeared within %s of a dispatch GitHub did not confirm, so that dispatch started nothing: "+
		"dispatching again (attempt %d of %d).", wf, rel.ID, release.HumanDuration(r.o.FindWithin), n, 1+r.o.Redispatches))
	det, err := rel.ReadDetails()
	if err != nil {
		log.Error().Err(err).Msg("reading the release's inputs")
		return true
	}
	res, err := r.o.Runs.Dispatch(ctx, wf, det.Inputs, rel.ID)
	var unconfirmed *github.AmbiguousDispatchError
	switch {
	case errors.As(err, &unconfirmed):
		log.Warn().Err(err).Msg("dispatch answer lost again: looking for the run")
		r.ambiguous(ctx, rel.ID, n, store.Attempt{N: n, At: now}, log)
	case err != nil:
		r.refused(ctx, rel, wf, err, log)
	case res.Found:
		r.started(ctx, rel, github.Run{ID: res.RunID, URL: res.RunURL, HTMLURL: res.HTMLURL, Status: github.StatusQueued})
	}
	return true
}
