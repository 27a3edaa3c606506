package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/release-bot/release-bot/internal/release"
)

// maxAttempts bounds how often Transition and Amend reread a release that
// changed under them when the caller did not pin a version. Each retry means
// another writer won, so a handful is plenty.
const maxAttempts = 8

// TransitionOpts qualifies a Transition.
type TransitionOpts struct {
	// From lists the states the caller expects the release to be in; empty
	// means any state from which the move is allowed.
	From []release.State
	// Version, when not 0, is the version the caller decided on: any change
	// since then is a conflict. When 0, a change that leaves the state
	// acceptable is retried on the fresh release.
	Version int64
	// By (a Slack user id, empty for the bot) and Note go into the history entry.
	By, Note string
	// Update changes the release's body (gate, evidence, run, details…) as
	// part of the same compare-and-set. It may be called more than once, on
	// fresh copies, so it must depend only on the release it is given. Its
	// changes to the fields the store owns or froze at propose time (ID,
	// Pipeline, State, Version, ManifestDigest, Required, ExpiresAt,
	// CreatedAt, Approvals, History) are discarded.
	Update func(*release.Release)
}

// Transition moves release id to state to, as one compare-and-set on its
// state and version: the new body is computed from the release as read, and
// the write fails (and is retried, or returns a *ConflictError) if anything
// changed in between. The move must be allowed by release.CanMove. The
// history gets an entry; a terminal state frees the pipeline's lock (if it
// still names this release) and starts the retention clock on the release's
// keys. Only one of any number of concurrent callers wins a given move.
func (s *Store) Transition(ctx context.Context, id string, to release.State, opts TransitionOpts) (*release.Release, error) {
	if len(opts.From) > 0 && !slices.ContainsFunc(opts.From, func(f release.State) bool { return release.CanMove(f, to) }) {
		return nil, fmt.Errorf("release %s: %v → %s: %w", id, opts.From, to, ErrInvalidMove)
	}
	return s.cas(ctx, id, opts.Version, opts.Update, func(r *release.Release) (release.State, *release.Transition, bool) {
		if len(opts.From) > 0 && !slices.Contains(opts.From, r.State) || !release.CanMove(r.State, to) {
			return "", nil, false
		}
		return to, &release.Transition{From: r.State, To: to, At: s.now(), By: opts.By, Note: opts.Note}, true
	})
}

// Amend changes a release's body without changing its state, as one
// compare-and-set (see TransitionOpts.Update for what update may change).
// version, when not 0, pins the version the caller read. It adds no history
// entry: use it for progress such as run status or evidence links.
func (s *Store) Amend(ctx context.Context, id string, version int64, update func(*release.Release)) (*release.Release, error) {
	return s.cas(ctx, id, version, update, func(r *release.Release) (release.State, *release.Transition, bool) {
		return r.State, nil, true
	})
}

// Reject ends a proposed release with d as its rejection; also, when given,
// changes the body in the same compare-and-set (e.g. its evidence).
func (s *Store) Reject(ctx context.Context, id string, d release.Decision, also ...func(*release.Release)) (*release.Release, error) {
	if d.At.IsZero() {
		d.At = s.now()
	}
	return s.Transition(ctx, id, release.Rejected, TransitionOpts{
		From: []release.State{release.Proposed},
		By:   d.UserID,
		Note: d.Reason,
		Update: func(r *release.Release) {
			rej := d
			r.Rejection = &rej
			for _, f := range also {
				f(r)
			}
		},
	})
}

// cas reads the release, asks decide for its next state and history entry,
// applies update and writes the result if the state and version are still
// those read.
func (s *Store) cas(ctx context.Context, id string, version int64, update func(*release.Release),
	decide func(*release.Release) (release.State, *release.Transition, bool)) (*release.Release, error) {
	for attempt := 0; ; attempt++ {
		r, err := s.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		conflict := &ConflictError{ID: id, State: r.State, Version: r.Version}
		if version != 0 && r.Version != version {
			return nil, conflict
		}
		to, entry, ok := decide(r)
		if !ok {
			return nil, conflict
		}
		next := s.apply(r, update)
		next.State = to
		body, err := encodeBody(next)
		if err != nil {
			return nil, fmt.Errorf("release %s: %w", id, err)
		}
		var entryJSON []byte
		if entry != nil {
			if entryJSON, err = json.Marshal(entry); err != nil {
				return nil, fmt.Errorf("release %s: %w", id, err)
			}
		}
		// A decision (durableMove) is reported only once replicas hold it.
		res, err := s.eval(ctx, transitionScript, entry != nil && durableMove(to), PipelineOf(id), s.releaseKeys(id),
			id, s.retention.Milliseconds(),
			string(r.State), strconv.FormatInt(r.Version, 10), string(to), body, entryJSON, flag(to.Terminal()),
			flag(next.Evidence.Pending()), ms(s.now()),
		)
		if err != nil {
			return nil, fmt.Errorf("release %s → %s: %w", id, to, err)
		}
		switch res[0] {
		case "ok":
			next.Version, _ = res[1].(int64)
			if entry != nil {
				next.History = append(next.History, *entry)
			}
			if to != r.State {
				s.entered(to)
			}
			return next, nil
		case "not_found":
			return nil, fmt.Errorf("release %s: %w", id, ErrNotFound)
		case "conflict":
			state, _ := res[1].(string)
			v, _ := res[2].(int64)
			conflict = &ConflictError{ID: id, State: release.State(state), Version: v}
			if version != 0 || attempt+1 >= maxAttempts {
				return nil, conflict
			}
			continue
		}
		return nil, fmt.Errorf("release %s → %s: unexpected script reply %v", id, to, res)
	}
}

// apply runs update on a copy of r and puts back what update may not change.
func (s *Store) apply(r *release.Release, update func(*release.Release)) *release.Release {
	next := *r
	next.Approvals = slices.Clone(r.Approvals)
	next.History = slices.Clone(r.History)
	if update != nil {
		update(&next)
	}
	next.ID, next.Pipeline, next.State, next.Version = r.ID, r.Pipeline, r.State, r.Version
	next.ManifestDigest, next.Required, next.ExpiresAt, next.CreatedAt = r.ManifestDigest, r.Required, r.ExpiresAt, r.CreatedAt
	next.Approvals, next.History = r.Approvals, r.History
	return &next
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
