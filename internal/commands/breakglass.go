package commands

import (
	"context"
	"fmt"
	"strings"

	"github.com/release-bot/release-bot/internal/config"
	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/store"
)

// mayBreakGlass refuses a break-glass proposal by someone the pipeline
// does not allow, or on a pipeline that allows none.
func (h *Handler) mayBreakGlass(ctx context.Context, p *config.Pipeline, userID, teamID string) error {
	if p.BreakGlass == nil {
		return &refusalError{fmt.Sprintf("Pipeline `%s` allows no break-glass release (its configuration has no `break_glass`).", p.Name)}
	}
	users, groups, who := h.resolve(ctx, p.BreakGlass.Allowed)
	pol := release.Policy{Users: users, Groups: groups}
	c, err := h.clicker(ctx, userID, teamID)
	if err != nil {
		return err
	}
	if c.IsBot || c.IsGuest || c.Deleted || !pol.MayApprove(c) {
		return &refusalError{fmt.Sprintf("Only %s can propose a break-glass release of pipeline `%s`.", strings.Join(who, " or "), p.Name)}
	}
	return nil
}

// breakGlassRule is the approval rule of a break-glass release in words.
func breakGlassRule(required int, rule string) string {
	_, who, _ := strings.Cut(rule, " from ")
	switch required {
	case 0:
		return "no approval: a break-glass release of this pipeline ships at once"
	case 1:
		return "1 approval from " + who + " (break-glass)"
	}
	return fmt.Sprintf("%d approvals from %s (break-glass)", required, who)
}

// emergencyLine marks a break-glass release in its message and its thread.
func emergencyLine(r *release.Release) string {
	bg := r.BreakGlass
	return fmt.Sprintf(":rotating_light: *EMERGENCY: break-glass release* by <@%s>: %s\nIt ignores freezes. An approver must review it by %s.",
		bg.By, escCut(bg.Reason, MaxReason), slackDate(bg.ReviewDue))
}

// brokeGlass follows a break-glass proposal: the pipeline's approvers are
// told (mentioned in the thread, so Slack notifies them), and a release
// that needs no approval is approved and shipped at once.
func (h *Handler) brokeGlass(ctx context.Context, id string, p *config.Pipeline) {
	r, err := h.d.Releases.Get(ctx, id)
	if err != nil {
		h.d.Logger.Error().Err(err).Str("release_id", id).Msg("reading the break-glass release")
		return
	}
	_, _, who := h.resolve(ctx, p.Approvals.Approvers)
	h.reply(ctx, r, fmt.Sprintf("%s %s: this break-glass release needs your review after the fact, by %s: *Reviewed* or *Not OK* on its message once it has shipped.",
		emergencyLine(r), strings.Join(who, " "), slackDate(r.BreakGlass.ReviewDue)))
	if r.Required > 0 {
		return
	}
	// No Version: the evidence worker amends the release (its outbox
	// marks) while this runs, and the move depends only on the state.
	next, err := h.d.Releases.Transition(ctx, id, release.Approved, store.TransitionOpts{
		From: []release.State{release.Proposed}, By: r.BreakGlass.By, Note: "break-glass: no approval needed",
	})
	if err != nil {
		h.d.Logger.Error().Err(err).Str("release_id", id).Msg("break-glass release not approved at once")
		return
	}
	h.refresh(ctx, next)
	h.ship(ctx, next, p, h.d.Logger.With().Str("release_id", id).Logger())
}
