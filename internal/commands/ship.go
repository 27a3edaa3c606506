package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/release-bot/release-bot/internal/config"
	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/store"
)

// resumeAfter is how long an approved release may wait for its dispatch
// before a sweep takes it up: the approving replica died on the way.
const resumeAfter = 2 * time.Minute

// ship takes an approved release to dispatching, once, after checking that
// the environments still run what the manifest says; then hands it to the
// Dispatcher. Only the click whose approval completed the count calls it, and
// the move to dispatching is a compare-and-set: one dispatch per release.
func (h *Handler) ship(ctx context.Context, r *release.Release, p *config.Pipeline, log zerolog.Logger) {
	h.shipChecked(ctx, r, p, log, h.recheck(ctx, r, p))
}

// recheck starts the drift re-check of r and returns its answer, waiting
// for it: a click goes on telling Slack meanwhile.
func (h *Handler) recheck(ctx context.Context, r *release.Release, p *config.Pipeline) func() ([]string, error) {
	type answer struct {
		drift []string
		err   error
	}
	done := make(chan answer, 1)
	go func() {
		drift, err := h.driftSince(ctx, r, p)
		done <- answer{drift, err}
	}()
	return func() ([]string, error) {
		a := <-done
		return a.drift, a.err
	}
}

// shipChecked is ship with the drift re-check under way.
func (h *Handler) shipChecked(ctx context.Context, r *release.Release, p *config.Pipeline, log zerolog.Logger, recheck func() ([]string, error)) {
	// A freeze holds the release before anything else: its drift re-check
	// is the one made when the freeze ends. Not knowing counts as frozen;
	// the sweep asks again.
	f, frozen, err := h.frozen(ctx, p, h.d.Now())
	if r.BreakGlass != nil {
		frozen, err = false, nil // a break-glass release ignores freezes
	}
	if err != nil {
		log.Warn().Err(err).Msg("the freeze could not be read: not dispatching yet, the sweep retries")
		return
	}
	if frozen {
		h.holdForFreeze(ctx, r, p, &f)
		return
	}
	drift, err := recheck()
	if err != nil {
		h.recheckFailed(ctx, r, p, err, log)
		return
	}
	if len(drift) > 0 {
		log.Info().Strs("drift", drift).Msg("release is stale")
		if next, ok := h.toState(ctx, r, release.Stale, "drift: "+strings.Join(drift, "; ")); ok {
			h.reply(ctx, next, ":warning: *Not dispatched: the environments changed since this release was proposed*, so what was approved is not what would ship:\n• "+
				esc(strings.Join(drift, "\n• "))+"\nPropose again: `/release propose "+p.Name+"`.")
		}
		return
	}
	// The compliant decision is written with the move, and the dispatch
	// waits until Kosli has it: the deploy's gate asserts it per artifact.
	next, err := h.d.Releases.Transition(ctx, r.ID, release.Dispatching, store.TransitionOpts{
		From: []release.State{release.Approved}, Note: "approved; no drift",
		Update: h.decision(release.Approved, "", ""),
	})
	if err != nil {
		if errors.Is(err, store.ErrConflict) {
			log.Info().Msg("another replica is dispatching this release")
			return
		}
		log.Error().Err(err).Msg("could not move to dispatching")
		return
	}
	// The message is told while Kosli records the decision: the dispatch
	// waits for Kosli, not for Slack.
	h.refreshSoon(next)
	h.dispatchRecorded(ctx, h.deliverNow(ctx, next), p)
}

// driftSince reads the environments again and compares them with the
// manifest. The Kosli client's retry policy is the only one: an approving
// click waits for its attempts, not for a loop of them; a failure is left
// to recheckFailed and the sweep.
func (h *Handler) driftSince(ctx context.Context, r *release.Release, p *config.Pipeline) ([]string, error) {
	data, err := h.d.Releases.Manifest(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	m, err := release.ParseManifest(data)
	if err != nil {
		return nil, err
	}
	kctx, cancel := context.WithTimeout(ctx, h.d.KosliTimeout)
	defer cancel()
	// A rollback's source is a snapshot that cannot change: what matters
	// is that the target still runs what the rollback replaces.
	from := p.From
	if m.RollbackOf != "" {
		from = m.Source.SnapshotID
	}
	d, err := h.d.Kosli.Diff(kctx, from, p.To)
	if err != nil {
		return nil, err
	}
	return release.Drift(m, &d), nil
}

// recheckBound is how long an approved release keeps its approvals while the
// drift re-check cannot read Kosli; the sweep retries it meanwhile.
const recheckBound = 15 * time.Minute

// recheckFailed handles a drift re-check that could not run. That is not
// drift: within recheckBound of the approval the release stays approved, the
// thread is told once, and the sweep tries again; past it, the release is
// stale, since what would ship can no longer be checked against what was
// approved.
func (h *Handler) recheckFailed(ctx context.Context, r *release.Release, p *config.Pipeline, err error, log zerolog.Logger) {
	now := h.d.Now()
	// A release held by a freeze is checked from when the freeze ended.
	from := approvedAt(r)
	if r.FrozenUntil.After(from) {
		from = r.FrozenUntil
	}
	if since := now.Sub(from); since < recheckBound {
		log.Warn().Err(err).Dur("since_approval", since).Msg("drift check could not read Kosli: keeping the release approved, the sweep retries")
		if !r.RecheckFailedAt.IsZero() {
			return
		}
		next, aerr := h.d.Releases.Amend(ctx, r.ID, r.Version, func(x *release.Release) { x.RecheckFailedAt = now })
		if aerr != nil {
			return // moved or marked elsewhere meanwhile: whoever did tells the thread
		}
		h.reply(ctx, next, fmt.Sprintf(":hourglass: Approved, but Kosli cannot be read to check that %s and %s still run what was approved. "+
			"The approvals stand; I try again until %s and dispatch when Kosli answers.", esc(p.From), esc(p.To), slackDate(from.Add(recheckBound))))
		return
	}
	log.Error().Err(err).Msg("drift check failed past its bound: not dispatching")
	if next, ok := h.toState(ctx, r, release.Stale, "the environments could not be read to check for drift"); ok {
		h.reply(ctx, next, fmt.Sprintf(":warning: For %s I could not read %s and %s from Kosli to check that nothing changed since the approval, so nothing was dispatched. Propose again when Kosli answers.",
			recheckBound, esc(p.From), esc(p.To)))
	}
}

// approvedAt is when r reached Approved; its creation when history lacks it.
func approvedAt(r *release.Release) time.Time { return enteredOrCreated(r, release.Approved) }

// enteredOrCreated is when r last moved to s; its creation when history lacks it.
func enteredOrCreated(r *release.Release, s release.State) time.Time {
	if at, ok := r.EnteredAt(s); ok {
		return at
	}
	return r.CreatedAt
}

// toState moves an approved release and refreshes its message; false means
// someone else moved it first (another replica's ship), which is fine and
// leaves the telling to them.
func (h *Handler) toState(ctx context.Context, r *release.Release, to release.State, note string) (*release.Release, bool) {
	next, err := h.d.Releases.Transition(ctx, r.ID, to, store.TransitionOpts{
		From: []release.State{release.Approved}, Note: note, Update: h.decision(to, "", note),
	})
	if err != nil {
		h.d.Logger.Info().Err(err).Str("release_id", r.ID).Str("to", string(to)).Msg("transition not made")
		return r, false
	}
	h.refresh(ctx, next)
	return next, true
}

// recordOnly is the dispatcher of a pipeline with no workflow: it records
// that the release was approved and says that nothing was dispatched.
type recordOnly struct{ h *Handler }

func (d recordOnly) Dispatch(ctx context.Context, r *release.Release, p *config.Pipeline) error {
	// Once, whoever calls it: the first to stamp the release tells.
	now := d.h.d.Now()
	r, err := d.h.d.Releases.Amend(ctx, r.ID, r.Version, func(x *release.Release) {
		if x.Run == nil {
			x.Run = &release.Run{DispatchedAt: now}
		}
	})
	if err != nil || r.Run.DispatchedAt != now {
		return nil
	}
	d.h.d.Logger.Info().Str("release_id", r.ID).Msg("no workflow configured: dispatch recorded only")
	d.h.reply(ctx, r, fmt.Sprintf(":information_source: No promotion workflow is configured for pipeline `%s`, so nothing was dispatched. "+
		"The approval is recorded in Kosli; deploy manifest `%s` by hand, then `/release cancel %s` frees the pipeline.", p.Name, shortDigest(r.ManifestDigest), r.ID))
	return nil
}

func (d recordOnly) Cancel(context.Context, *release.Release, *config.Pipeline) error { return nil }
