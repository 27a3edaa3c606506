package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/release-bot/release-bot/internal/config"
	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/store"
)

// findRelease is the release a status or cancel names: by id, else the
// pipeline's open one, else its latest.
func (h *Handler) findRelease(ctx context.Context, p *config.Pipeline, id string) (*release.Release, error) {
	if id != "" {
		r, err := h.d.Releases.Get(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil, &refusalError{fmt.Sprintf("There is no release `%s`.", id)}
		}
		if err == nil && r.Pipeline != p.Name {
			return nil, &refusalError{fmt.Sprintf("Release `%s` belongs to pipeline `%s`; ask in its channel.", id, r.Pipeline)}
		}
		return r, err
	}
	r, err := h.d.Releases.Active(ctx, p.Name)
	if err != nil || r != nil {
		return r, err
	}
	list, err := h.d.Releases.List(ctx, p.Name, 1)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, &refusalError{fmt.Sprintf("Pipeline `%s` has no releases yet. `/release propose %s` makes one.", p.Name, p.Name)}
	}
	return list[0], nil
}

func (h *Handler) status(ctx context.Context, inv *invocation, p *config.Pipeline, id string) error {
	var b strings.Builder
	if f := h.freezeFor(ctx, p); f != nil {
		b.WriteString(freezeLine(p.Name, f) + "\n")
	}
	r, err := h.findRelease(ctx, p, id)
	var refusal *refusalError
	if errors.As(err, &refusal) && b.Len() > 0 {
		return &refusalError{b.String() + refusal.text}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(&b, "%s *Release `%s`* (%s → %s): *%s*\n", stateEmoji[r.State], r.ID, p.From, p.To, upperFirst(stateLine(r, h.d.Now())))
	fmt.Fprintf(&b, "Proposed by <@%s> %s; manifest `%s`.\n", r.Proposer, slackDate(r.CreatedAt), r.ManifestDigest)
	if len(r.Approvals) > 0 {
		var who []string
		for _, a := range r.Approvals {
			who = append(who, "<@"+a.UserID+">")
		}
		fmt.Fprintf(&b, "Approved by %s (%d of %d).\n", strings.Join(who, ", "), len(r.Approvals), r.Required)
	}
	if r.Rejection != nil {
		fmt.Fprintf(&b, "Rejected by <@%s>: %s\n", r.Rejection.UserID, esc(r.Rejection.Reason))
	}
	if r.BreakGlass != nil {
		b.WriteString(emergencyLine(r) + "\n")
		if r.NeedsReview() || r.BreakGlass.Review != nil {
			b.WriteString(reviewLine(r) + "\n")
		}
	}
	if r.Run != nil && r.Run.HTMLURL != "" {
		fmt.Fprintf(&b, "Workflow run: %s\n", link(r.Run.HTMLURL, runLabel(r.Run)))
	}
	if r.Evidence != nil && r.Evidence.URL != "" {
		fmt.Fprintf(&b, "Evidence: %s\n", link(r.Evidence.URL, "Kosli trail "+r.Evidence.Trail))
	}
	b.WriteString(evidenceLines(r))
	if n := len(r.History); n > 0 {
		last := r.History[n-1]
		note := ""
		if last.Note != "" {
			note = ": " + esc(last.Note)
		}
		fmt.Fprintf(&b, "Last change: %s %s%s", last.To.Label(), slackDate(last.At), truncate(note, 300))
	}
	h.ephemeral(ctx, inv, b.String())
	return nil
}

func (h *Handler) list(ctx context.Context, inv *invocation, p *config.Pipeline) error {
	list, err := h.d.Releases.List(ctx, p.Name, 10)
	if err != nil {
		return err
	}
	var b strings.Builder
	if f := h.freezeFor(ctx, p); f != nil {
		b.WriteString(freezeLine(p.Name, f) + "\n")
	}
	for _, r := range h.overdueReviews(ctx, p) {
		b.WriteString(overdueLine(r) + "\n")
	}
	if len(list) == 0 {
		h.ephemeral(ctx, inv, b.String()+fmt.Sprintf("Pipeline `%s` has no releases yet.", p.Name))
		return nil
	}
	fmt.Fprintf(&b, "*Recent releases of `%s`*\n", p.Name)
	for _, r := range list {
		fmt.Fprintf(&b, "%s `%s` %s, proposed by <@%s> <!date^%d^{date_short_pretty}|%s>\n", stateEmoji[r.State], r.ID, r.State.Label(), r.Proposer,
			r.CreatedAt.Unix(), r.CreatedAt.UTC().Format("2006-01-02"))
	}
	h.ephemeral(ctx, inv, b.String())
	return nil
}

// cancel ends an open release; its proposer or an approver may, with a
// reason: given after the release id (`/release cancel <id> <reason…>`), or
// typed in the modal this opens with the command's trigger_id. The modal is
// opened before anything slow, as the trigger lives 3 s: who may cancel is
// checked when it is submitted.
func (h *Handler) cancel(ctx context.Context, inv *invocation, p *config.Pipeline, id, typed string) error {
	r, err := h.findRelease(ctx, p, id)
	if err != nil {
		return err
	}
	if !r.State.Open() {
		return &refusalError{fmt.Sprintf("Release `%s` is already %s.", r.ID, r.State.Label())}
	}
	if typed == "" {
		if !h.openReason(ctx, reasonAsks[CallbackCancel], r, inv.cmd.TriggerID) {
			return &refusalError{fmt.Sprintf("The cancel dialog could not be opened, so nothing changed. Say why on the command line: `/release cancel %s <reason>`.", r.ID)}
		}
		inv.working.done(ctx)
		return nil
	}
	reason, problem := checkReason(typed)
	if problem != "" {
		return &refusalError{problem + fmt.Sprintf(" Nothing changed: `/release cancel %s <reason>`.", r.ID)}
	}
	if text := h.mayDecide(ctx, r, p, inv.cmd.UserID, inv.cmd.TeamID); text != "" {
		return &refusalError{text}
	}
	text, err := h.cancelRelease(ctx, r, p, inv.cmd.UserID, reason)
	if err != nil {
		var conflict *store.ConflictError
		if errors.As(err, &conflict) {
			return &refusalError{h.explainDecision(ctx, r, err)}
		}
		return err
	}
	if text == "" {
		text = fmt.Sprintf("Release `%s` is cancelled.", r.ID)
	}
	h.ephemeral(ctx, inv, text)
	return nil
}

// cancelRelease cancels r for user, with reason in its history, its
// decision's evidence and its thread; a release being deployed has its
// workflow run cancelled too. It returns an answer for the person only when
// the cancellation was not recorded safely.
func (h *Handler) cancelRelease(ctx context.Context, r *release.Release, p *config.Pipeline, user, reason string) (string, error) {
	was := r.State
	next, err := h.d.Releases.Transition(ctx, r.ID, release.Cancelled, store.TransitionOpts{
		By: user, Note: reason, Update: h.decision(release.Cancelled, user, reason),
	})
	if errors.Is(err, store.ErrNotDurable) {
		h.d.Logger.Warn().Err(err).Str("release_id", r.ID).Msg("cancellation not confirmed by the Redis replicas")
		return notRecorded("cancellation", "Run `/release cancel "+r.ID+"` again."), nil
	}
	if err != nil {
		return "", err
	}
	h.d.Logger.Info().Str("release_id", r.ID).Str("by", user).Msg("release cancelled")
	if (was == release.Dispatching || was == release.Deploying) && h.d.Dispatcher != nil {
		if err := h.d.Dispatcher.Cancel(ctx, next, p); err != nil {
			h.d.Logger.Error().Err(err).Str("release_id", r.ID).Msg("cancelling the workflow run failed")
			h.reply(ctx, next, ":warning: The release is cancelled, but its workflow run could not be cancelled: cancel it in GitHub.")
		}
	}
	h.wakeEvidence()
	next = h.afterChange(ctx, r.ID)
	h.reply(ctx, next, reasonLine(fmt.Sprintf(":heavy_multiplication_x: <@%s> cancelled the release: ", user), reason))
	return "", nil
}

// evidenceLines says, per outbox item, whether Kosli has it.
func evidenceLines(r *release.Release) string {
	if r.Evidence == nil || len(r.Evidence.Items) == 0 {
		return ""
	}
	var b strings.Builder
	for _, it := range r.Evidence.Items {
		what := string(it.Kind)
		switch it.Kind {
		case release.EvidenceReport:
			what = "trail, artifacts and manifest"
		case release.EvidenceDecision:
			what = "decision (" + it.Cause.Label() + ") for control `" + esc(r.Evidence.Control) + "`"
		case release.EvidenceOutcome:
			what = "`" + esc(it.Name) + "`"
		}
		switch it.Status {
		case release.EvidenceRecorded:
			fmt.Fprintf(&b, "• :white_check_mark: %s: recorded %s\n", what, slackDate(it.DoneAt))
		case release.EvidencePending:
			why := ""
			if it.LastError != "" {
				why = fmt.Sprintf(" (%d attempt(s); last: %s)", it.Attempts, esc(truncate(it.LastError, 200)))
			}
			fmt.Fprintf(&b, "• :hourglass: %s: pending%s\n", what, why)
		case release.EvidenceGaveUp:
			fmt.Fprintf(&b, "• :x: %s: failed: %s\n", what, esc(truncate(it.LastError, 200)))
		case release.EvidenceSuperseded:
			fmt.Fprintf(&b, "• %s: superseded before it was sent\n", what)
		}
	}
	return "Evidence in Kosli:\n" + b.String()
}
