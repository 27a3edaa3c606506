package commands

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/rs/zerolog"
	"github.com/slack-go/slack"

	"github.com/release-bot/release-bot/internal/config"
	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/store"
)

// click is one button click being answered.
type click struct {
	cb     slack.InteractionCallback
	action slack.BlockAction
	log    zerolog.Logger
}

// approveClick counts one approval: who clicked comes from the payload, what
// they approve from the button (release id and manifest digest), whether they
// may from the pipeline's policy, and the count from one atomic script.
func (h *Handler) approveClick(ctx context.Context, c *click) string {
	id, digest, ok := parseReleaseValue(c.action.Value)
	if !ok {
		return "That button is not one of mine any more."
	}
	c.log = c.log.With().Str("release_id", id).Logger()
	r, p, text := h.releaseAndPipeline(ctx, id)
	if text != "" {
		return text
	}
	r = h.knowParent(ctx, r, c.cb)
	// A click that may complete the count asks Kosli for the drift re-check
	// at once, while the clicker is looked up and the approval counted: the
	// last click then waits for one Kosli round trip before the decision,
	// not for Slack's and Kosli's in turn. Unused, its answer is dropped.
	var recheck func() ([]string, error)
	if r.State == release.Proposed && r.Remaining() <= 1 {
		recheck = h.recheck(ctx, r, p)
	}
	pol, _ := h.policy(ctx, p)
	who, err := h.clicker(ctx, c.cb.User.ID, c.cb.Team.ID)
	if err != nil {
		ref := newRef()
		c.log.Error().Err(err).Str("ref", ref).Msg("could not look the clicker up")
		return somethingWrong(ref)
	}
	now := h.d.Now()
	// A retry after a click that completed the count but was not confirmed
	// (store.ErrNotDurable) finds the release approved: it goes on to the
	// store, which confirms it, so that it can be told and shipped.
	retry := r.State == release.Approved && approvedBy(r, who.UserID)
	if refusal := pol.CheckApprover(r, who, digest, now); refusal != nil && !retry {
		c.log.Info().Str("reason", string(refusal.Reason)).Msg("approval refused")
		return refusal.Text
	}
	res, err := h.d.Releases.Approve(ctx, id, release.Approval{UserID: who.UserID, At: now, Digest: digest})
	if errors.Is(err, store.ErrNotDurable) {
		c.log.Warn().Err(err).Msg("approval not confirmed by the Redis replicas")
		return notRecorded("approval", "Click *Approve* again: an approval counts once.")
	}
	if err != nil {
		ref := newRef()
		c.log.Error().Err(err).Str("ref", ref).Msg("approval failed")
		return somethingWrong(ref)
	}
	c.log.Info().Str("outcome", string(res.Outcome)).Int("count", res.Count).Int("required", res.Required).Msg("approval")
	switch res.Outcome {
	case store.Duplicate:
		return "You have already approved this release; it still needs " + remaining(res) + "."
	case store.WrongState:
		if !h.retriedLastApproval(ctx, id, who.UserID, res) {
			return fmt.Sprintf("This release is now %s.", res.State.Label())
		}
		// The click that completed the count was not confirmed by the
		// replicas, so nobody was told; this one, durable, tells it now.
		res.Outcome, res.Count = store.Approved, res.Required
	case store.WrongDigest:
		return "This button is for an older version of the release. Use the buttons on its current message."
	case store.Expired:
		h.expiredDecision(ctx, id)
		h.afterChange(ctx, id)
		return "This release expired before it was approved. Propose it again: `/release propose " + r.Pipeline + "`."
	case store.NotFound:
		return "That release no longer exists."
	}
	if res.Outcome == store.Approved && !h.firstToTellApproved(ctx, id) {
		return fmt.Sprintf("This release is now %s.", release.Approved.Label())
	}
	if res.Outcome == store.Approved {
		// Kosli is asked for the drift re-check (if not yet) while Slack is told.
		if recheck == nil {
			recheck = h.recheck(ctx, r, p)
		}
		// The thread is told in order; the message is rewritten meanwhile.
		if next, err := h.d.Releases.Get(ctx, id); err == nil {
			r = next
		}
		h.refreshSoon(r)
		h.reply(ctx, r, fmt.Sprintf(":white_check_mark: <@%s> approved (%d of %d). The release is approved.", who.UserID, res.Count, res.Required))
		h.shipChecked(ctx, r, p, c.log, recheck)
		return ""
	}
	r = h.afterChange(ctx, id)
	h.reply(ctx, r, fmt.Sprintf(":ballot_box_with_check: <@%s> approved (%d of %d).", who.UserID, res.Count, res.Required))
	return ""
}

// retriedLastApproval reports whether a click on an approved release is
// userID trying again after the click that completed the count was not
// confirmed (store.ErrNotDurable), before anyone dispatched it.
func (h *Handler) retriedLastApproval(ctx context.Context, id, userID string, res store.ApproveResult) bool {
	if res.State != release.Approved {
		return false
	}
	r, err := h.d.Releases.Get(ctx, id)
	return err == nil && r.State == release.Approved && approvedBy(r, userID)
}

func approvedBy(r *release.Release, userID string) bool {
	return slices.ContainsFunc(r.Approvals, func(a release.Approval) bool { return a.UserID == userID })
}

// firstToTellApproved reports whether this click is the one to announce the
// approval and ship: the one that completed the count, or, when that one
// was not confirmed, the first retry. A Redis error lets it tell.
func (h *Handler) firstToTellApproved(ctx context.Context, id string) bool {
	first, err := h.d.Releases.Once(ctx, "approved:"+id, 7*24*time.Hour)
	return first || err != nil
}

// notRecorded is the answer to a decision Redis did not confirm on its
// replicas in time (store.ErrNotDurable): it may not survive a failover, so
// it is not announced, and the person is asked to make it again.
func notRecorded(what, again string) string {
	return ":warning: Your " + what + " could not be recorded safely: the database did not confirm it in time. " + again
}

func remaining(res store.ApproveResult) string {
	n := res.Required - res.Count
	if n == 1 {
		return "1 more approval"
	}
	return fmt.Sprintf("%d more approvals", n)
}

// knowParent makes sure the release knows its parent message. propose posts
// the message and then records its ts; a click can arrive in between, and
// the message clicked on is the parent, so the click says where it is.
func (h *Handler) knowParent(ctx context.Context, r *release.Release, cb slack.InteractionCallback) *release.Release {
	if r.MessageTS != "" || cb.Container.MessageTs == "" || cb.Container.IsEphemeral {
		return r
	}
	channel := cb.Container.ChannelID
	if channel == "" {
		channel = cb.Channel.ID
	}
	next, err := h.d.Releases.Amend(ctx, r.ID, 0, func(x *release.Release) {
		if x.MessageTS == "" {
			x.Channel, x.MessageTS = channel, cb.Container.MessageTs
		}
	})
	if err != nil {
		h.d.Logger.Warn().Err(err).Str("release_id", r.ID).Msg("could not record the release's message")
		r.Channel, r.MessageTS = channel, cb.Container.MessageTs
		return r
	}
	return next
}

// releaseAndPipeline loads a release and its pipeline, or says why not.
func (h *Handler) releaseAndPipeline(ctx context.Context, id string) (*release.Release, *config.Pipeline, string) {
	r, err := h.d.Releases.Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, fmt.Sprintf("Release `%s` no longer exists.", id)
	}
	if err != nil {
		ref := newRef()
		h.d.Logger.Error().Err(err).Str("release_id", id).Str("ref", ref).Msg("reading a release failed")
		return nil, nil, somethingWrong(ref)
	}
	p, ok := h.d.Config.Pipeline(r.Pipeline)
	if !ok {
		return nil, nil, fmt.Sprintf("Release `%s` belongs to pipeline `%s`, which is no longer configured.", id, r.Pipeline)
	}
	return r, p, ""
}

// clicker describes a Slack user as the approval policy needs them.
func (h *Handler) clicker(ctx context.Context, userID, teamID string) (release.Clicker, error) {
	c := release.Clicker{UserID: userID, TeamID: teamID}
	if h.d.People == nil {
		return c, nil
	}
	// The person and the groups are two independent lookups (users.info,
	// usergroups.list): asked at once, the click waits for one round trip.
	type groupsAnswer struct {
		groups []slack.UserGroup
		err    error
	}
	answer := make(chan groupsAnswer, 1)
	go func() {
		groups, err := h.d.People.UserGroups(ctx)
		answer <- groupsAnswer{groups, err}
	}()
	u, err := h.d.People.User(ctx, userID)
	if err != nil {
		return c, err
	}
	c.IsBot, c.Deleted = u.IsBot, u.Deleted
	c.IsGuest = u.IsRestricted || u.IsUltraRestricted
	if u.TeamID != "" {
		c.TeamID = u.TeamID
	}
	a := <-answer
	groups, err := a.groups, a.err
	if err != nil {
		h.d.Logger.Warn().Err(err).Msg("user groups could not be read")
		return c, nil
	}
	for _, g := range groups {
		if slices.Contains(g.Users, userID) {
			c.Groups = append(c.Groups, g.ID)
		}
	}
	return c, nil
}

// rejectClick opens the dialog that asks for a reason; the rejection happens
// when it is submitted. The trigger_id lives 3 s, so the dialog is opened
// before anything slow (Redis, users.info, user groups): whether the clicker
// may reject, and whether the release still can be, is checked on submit.
// A dialog that cannot be opened changes nothing.
func (h *Handler) rejectClick(ctx context.Context, c *click) string {
	id, digest, ok := parseReleaseValue(c.action.Value)
	if !ok {
		return "That button is not one of mine any more."
	}
	c.log = c.log.With().Str("release_id", id).Logger()
	if h.d.Views == nil || c.cb.TriggerID == "" {
		c.log.Warn().Msg("reject clicked where no dialog can be opened")
		return rejectNotOpened
	}
	modal := ReasonModal(reasonAsks[CallbackReject], &release.Release{ID: id, ManifestDigest: digest})
	if homeClick(c.cb) {
		// The answer to its submission then goes to the Home too, whichever
		// replica takes it: the metadata comes back with the submission.
		modal.PrivateMetadata += fromHomeSuffix
	}
	if err := h.d.Views.OpenView(ctx, c.cb.TriggerID, modal); err != nil {
		c.log.Warn().Err(err).Msg("reject dialog could not be opened: nothing changed")
		return rejectNotOpened
	}
	// Now there is time: remember where the release's message is, for the thread.
	if r, _, text := h.releaseAndPipeline(ctx, id); text == "" {
		h.knowParent(ctx, r, c.cb)
	}
	return ""
}

// rejectNotOpened tells the clicker the reject dialog did not open.
const rejectNotOpened = "The reject dialog could not be opened, so nothing changed. Click *Reject* again."

// RejectConfirm is the confirmation Slack shows before a Reject click is
// sent: one rejection ends a release.
// https://api.slack.com/reference/block-kit/composition-objects#confirm
func RejectConfirm() *slack.ConfirmationBlockObject {
	c := slack.NewConfirmationBlockObject(
		slack.NewTextBlockObject(slack.PlainTextType, "Reject this release?", false, false),
		slack.NewTextBlockObject(slack.PlainTextType, "One rejection ends the release. You will be asked why.", false, false),
		slack.NewTextBlockObject(slack.PlainTextType, "Reject", false, false),
		slack.NewTextBlockObject(slack.PlainTextType, "Keep it", false, false),
	)
	return c.WithStyle(slack.StyleDanger)
}

// mayDecide says why a user may not reject or cancel a release, "" when they may:
// the proposer and the approvers may.
func (h *Handler) mayDecide(ctx context.Context, r *release.Release, p *config.Pipeline, userID, teamID string) string {
	if userID == r.Proposer {
		return ""
	}
	pol, rule := h.policy(ctx, p)
	who, err := h.clicker(ctx, userID, teamID)
	if err != nil {
		ref := newRef()
		h.d.Logger.Error().Err(err).Str("ref", ref).Msg("could not look the user up")
		return somethingWrong(ref)
	}
	if who.IsBot || who.IsGuest || who.Deleted || !pol.MayApprove(who) {
		return fmt.Sprintf("Only the proposer or an approver (%s) can do that.", rule)
	}
	return ""
}

func (h *Handler) reject(ctx context.Context, r *release.Release, p *config.Pipeline, userID, reason string) string {
	_, err := h.d.Releases.Reject(ctx, r.ID, release.Decision{UserID: userID, At: h.d.Now(), Reason: reason}, h.decision(release.Rejected, userID, reason))
	if errors.Is(err, store.ErrNotDurable) {
		h.d.Logger.Warn().Err(err).Str("release_id", r.ID).Msg("rejection not confirmed by the Redis replicas")
		return notRecorded("rejection", "Reject it again.")
	}
	if err != nil {
		return h.explainDecision(ctx, r, err)
	}
	h.d.Logger.Info().Str("release_id", r.ID).Str("by", userID).Msg("release rejected")
	h.wakeEvidence()
	updated := h.afterChange(ctx, r.ID)
	h.reply(ctx, updated, reasonLine(fmt.Sprintf(":no_entry: <@%s> rejected the release: ", userID), reason))
	return ""
}

// explainDecision is what the person who decided on r is told of an error
// from the store or the dispatcher: a lost compare-and-set says what the
// release is now; anything else is logged with a ref.
func (h *Handler) explainDecision(ctx context.Context, r *release.Release, err error) string {
	var conflict *store.ConflictError
	if errors.As(err, &conflict) {
		now := *r
		now.State, now.History = conflict.State, nil
		if cur, gerr := h.d.Releases.Get(ctx, r.ID); gerr == nil {
			now = *cur
		}
		return endedText(&now)
	}
	if refusal := (*refusalError)(nil); errors.As(err, &refusal) {
		return refusal.text
	}
	ref := newRef()
	h.d.Logger.Error().Err(err).Str("release_id", r.ID).Str("ref", ref).Msg("decision failed")
	return somethingWrong(ref)
}
