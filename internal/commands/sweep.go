package commands

import (
	"context"
	"fmt"
	"time"

	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/store"
)

// Sweep ends each pipeline's open release whose approvals ran out of time,
// so that its message loses its buttons when it expires, not at the next
// click. The move is a compare-and-set: replicas sweeping at once end it once.
func (h *Handler) Sweep(ctx context.Context) {
	if h.d.Releases == nil {
		return
	}
	now := h.d.Now()
	for _, p := range h.d.Config.Pipelines {
		h.sweepOverdue(ctx, p)
		r, err := h.d.Releases.Active(ctx, p.Name)
		if err != nil || r == nil {
			continue
		}
		if r.State == release.Dispatching && (r.Run == nil || r.Run.DispatchedAt.IsZero()) {
			// Waiting for its decision to be in Kosli, or its dispatcher went
			// away after the decision was recorded: dispatch now (once,
			// whoever calls it), or end it past the evidence timeout.
			if r.Evidence.AwaitsDecision() && now.Sub(dispatchingAt(r)) > p.Evidence.Timeout.Duration() {
				h.evidenceFailed(ctx, r, p, fmt.Sprintf("Kosli did not record the decision within %s", p.Evidence.Timeout))
				continue
			}
			if !r.Evidence.AwaitsDecision() && now.Sub(dispatchingAt(r)) > resumeAfter {
				h.dispatchRecorded(ctx, r, p)
			}
			continue
		}
		held := !r.FrozenUntil.IsZero() // by a freeze, which may have ended or been lifted
		if r.State == release.Approved && len(r.History) > 0 && (held || now.Sub(r.History[len(r.History)-1].At) > resumeAfter) {
			// Approved but never dispatched: whoever approved it went away
			// between the two, or a freeze holds it (ship holds it again
			// while the freeze lasts, and ships it once it has ended). ship
			// is safe to repeat: its move is a compare-and-set and the
			// dispatch itself is guarded.
			if !held {
				h.d.Logger.Warn().Str("release_id", r.ID).Msg("resuming an approved release that was never dispatched")
			}
			h.ship(ctx, r, p, h.d.Logger.With().Str("release_id", r.ID).Logger())
			continue
		}
		if r.State == release.Proposed && !r.Expired(now) {
			h.sweepNudges(ctx, r, p, now)
			continue
		}
		if r.State != release.Proposed {
			continue
		}
		next, err := h.d.Releases.Transition(ctx, r.ID, release.Expired, store.TransitionOpts{
			From: []release.State{release.Proposed}, Version: r.Version, Note: "approvals ran out of time",
			Update: h.decision(release.Expired, "", "approvals ran out of time"),
		})
		if err != nil {
			continue // clicked or swept elsewhere meanwhile
		}
		h.d.Logger.Info().Str("release_id", r.ID).Msg("release expired")
		h.refresh(ctx, next)
		h.reply(ctx, next, fmt.Sprintf(":zzz: The release expired with %d of %d approvals. `/release propose %s` starts again.", len(r.Approvals), r.Required, p.Name))
	}
	h.d.Logger.Debug().Msg("swept")
}

// SweepEvery runs Sweep until ctx ends.
func (h *Handler) SweepEvery(ctx context.Context, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			h.Sweep(ctx)
		}
	}
}
