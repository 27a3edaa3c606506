package commands

import (
	"context"
	"fmt"
	"time"

	"github.com/release-bot/release-bot/internal/config"
	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/store"
)

// Outbox delivers a release's evidence to Kosli (the evidence package's
// Worker). Items are written with the change that causes them; Deliver
// sends them now where the person is waiting for the answer (propose, the
// last approval), and the worker retries whatever it could not.
type Outbox interface {
	Deliver(ctx context.Context, id string) (*release.Release, error)
	Wake()
}

// wakeEvidence has the outbox deliver what a change just wrote.
func (h *Handler) wakeEvidence() {
	if h.d.Evidence != nil {
		h.d.Evidence.Wake()
	}
}

// evidenceWait bounds how long a command waits for its evidence to reach
// Kosli before it answers: past it the outbox goes on in the background.
const evidenceWait = 20 * time.Second

// deliverNow sends release r's pending evidence, bounded by evidenceWait;
// it returns the release as it is after (r when nothing could be read).
func (h *Handler) deliverNow(ctx context.Context, r *release.Release) *release.Release {
	if h.d.Evidence == nil || r == nil || !r.Evidence.Pending() {
		return r
	}
	dctx, cancel := context.WithTimeout(ctx, evidenceWait)
	defer cancel()
	next, err := h.d.Evidence.Deliver(dctx, r.ID)
	if err != nil || next == nil {
		if err != nil {
			h.d.Logger.Warn().Err(err).Str("release_id", r.ID).Msg("evidence not delivered now; the outbox retries")
		}
		h.d.Evidence.Wake()
		return r
	}
	return next
}

// decision adds the evidence of a release's verdict to its outbox, for the
// compare-and-set that makes the change: compliant (cause Approved) only
// when the release was approved and goes on to dispatch; non-compliant when
// it ends otherwise (cause is the state it ends in). A break-glass release's
// approval is recorded non-compliant, pending its review: its artifacts show
// as non-compliant in the target until an approver reviews it (the
// workflow's gate lets exactly that decision through for a break-glass
// release, deploy/github/promote.yml), and the review records the decision
// again, compliant when it is OK.
func (h *Handler) decision(cause release.State, by, note string) func(*release.Release) {
	at := h.d.Now().UTC()
	return func(x *release.Release) {
		if x.Evidence == nil || x.Evidence.Control == "" {
			return
		}
		x.AddEvidence(release.EvidenceItem{
			ID: "decision-" + string(cause), Kind: release.EvidenceDecision, Compliant: cause == release.Approved && x.BreakGlass == nil,
			Cause: cause, By: by, Note: note, CreatedAt: at,
		})
	}
}

// dispatchRecorded dispatches a release in dispatching once its decision is
// in Kosli (the deploy's gate asserts it); until then it waits, and the
// thread is told once. Dispatch itself happens once, whoever calls it.
func (h *Handler) dispatchRecorded(ctx context.Context, r *release.Release, p *config.Pipeline) {
	// Read again: the outbox may have dispatched it on recording the
	// decision while r was being read (Dispatch is once in any case).
	if cur, err := h.d.Releases.Get(ctx, r.ID); err == nil {
		r = cur
	}
	if r.State != release.Dispatching || (r.Run != nil && !r.Run.DispatchedAt.IsZero()) {
		return
	}
	log := h.d.Logger.With().Str("release_id", r.ID).Logger()
	if r.Evidence.AwaitsDecision() {
		h.noteWait(ctx, r, p)
		return
	}
	d := h.d.Dispatcher
	if d == nil || p.Workflow == nil {
		d = recordOnly{h}
	}
	if err := d.Dispatch(ctx, r, p); err != nil {
		log.Error().Err(err).Msg("dispatch failed")
	}
}

// noteWait tells the thread, once, that the dispatch waits for Kosli.
func (h *Handler) noteWait(ctx context.Context, r *release.Release, p *config.Pipeline) {
	if r.Evidence == nil || !r.Evidence.WaitNotedAt.IsZero() {
		return
	}
	now := h.d.Now()
	next, err := h.d.Releases.Amend(ctx, r.ID, r.Version, func(x *release.Release) {
		if x.Evidence != nil {
			x.Evidence.WaitNotedAt = now
		}
	})
	if err != nil {
		return // changed meanwhile: whoever changed it tells the thread, or the next look does
	}
	why := ""
	if it := next.Evidence.LastDecision(); it.LastError != "" {
		why = " (" + esc(truncate(it.LastError, 200)) + ")"
	}
	h.reply(ctx, next, fmt.Sprintf(":hourglass: Approved: waiting for Kosli to record the decision%s before dispatching, as the deploy's gate requires it. "+
		"I keep trying until %s; after that the release ends and nothing is dispatched.", why, slackDate(dispatchingAt(next).Add(p.Evidence.Timeout.Duration()))))
}

// dispatchingAt is when r moved to dispatching; its creation when history lacks it.
func dispatchingAt(r *release.Release) time.Time { return enteredOrCreated(r, release.Dispatching) }

// EvidenceChanged is told by the outbox of each item recorded, failing for
// the first time, or given up on. A recorded decision lets the dispatch go;
// a failure is said in the thread once.
func (h *Handler) EvidenceChanged(ctx context.Context, r *release.Release, it release.EvidenceItem) {
	p, ok := h.d.Config.Pipeline(r.Pipeline)
	if !ok {
		return
	}
	switch {
	case it.Status == release.EvidenceRecorded:
		if it.Kind == release.EvidenceReport && r.MessageTS != "" {
			h.refresh(ctx, r)
		}
		if it.Approves() {
			h.dispatchRecorded(ctx, r, p)
		}
	case it.Approves() && r.State == release.Dispatching:
		if it.Status == release.EvidenceGaveUp {
			h.evidenceFailed(ctx, r, p, "Kosli refused the decision: "+it.LastError)
			return
		}
		h.noteWait(ctx, r, p)
	case it.Status == release.EvidenceGaveUp:
		h.reply(ctx, r, fmt.Sprintf(":warning: Kosli refused this release's %s evidence: %s. It is not retried; the release's record in Kosli is incomplete.",
			it.Kind, esc(truncate(it.LastError, 300))))
	case it.Kind == release.EvidenceReport && r.MessageTS != "":
		h.refresh(ctx, r)
		h.reply(ctx, r, evidenceNotice(it))
	}
}

// evidenceNotice says that the release's evidence is not in Kosli yet.
func evidenceNotice(it release.EvidenceItem) string {
	return fmt.Sprintf(":hourglass: The evidence is not in Kosli yet (%s). It is kept and retried until Kosli takes it; approving can go on.",
		esc(truncate(it.LastError, 300)))
}

// expiredDecision records the decision of a release the store expired in
// its own script (a click after the window closed), which writes no
// evidence: once, as only an expired release without it gets it.
func (h *Handler) expiredDecision(ctx context.Context, id string) {
	add := h.decision(release.Expired, "", "approvals ran out of time")
	if _, err := h.d.Releases.Amend(ctx, id, 0, func(x *release.Release) {
		if x.State == release.Expired {
			add(x)
		}
	}); err != nil {
		h.d.Logger.Warn().Err(err).Str("release_id", id).Msg("the expired release's decision not queued")
		return
	}
	h.wakeEvidence()
}

// evidenceFailed ends a release whose decision Kosli did not record: the
// deploy's gate would refuse every artifact, so nothing is dispatched.
func (h *Handler) evidenceFailed(ctx context.Context, r *release.Release, p *config.Pipeline, why string) {
	if r.Run != nil && !r.Run.DispatchedAt.IsZero() {
		return // dispatched: the decision was recorded, this is an older look
	}
	next, err := h.d.Releases.Transition(ctx, r.ID, release.EvidenceFailed, store.TransitionOpts{
		From: []release.State{release.Dispatching}, Version: r.Version, Note: why,
		Update: h.decision(release.EvidenceFailed, "", why),
	})
	if err != nil {
		h.d.Logger.Info().Err(err).Str("release_id", r.ID).Msg("evidence_failed not recorded: the release moved on")
		return
	}
	h.d.Logger.Error().Str("release_id", r.ID).Str("why", why).Msg("release ended: its decision is not in Kosli")
	h.refresh(ctx, next)
	h.reply(ctx, next, fmt.Sprintf(":lock: Not dispatched: %s. The deploy's gate requires the decision in Kosli, so nothing was sent to GitHub. "+
		"Propose again when Kosli answers: `/release propose %s`.", esc(truncate(why, 300)), p.Name))
}
