package commands

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/release-bot/release-bot/internal/config"
	"github.com/release-bot/release-bot/internal/release"
)

// The review buttons of a break-glass release that shipped, and their dialog.
const (
	ActionReviewOK   = "release_review_ok"
	ActionReviewFlag = "release_review_flag"
	// CallbackReview is the review dialog's callback id.
	CallbackReview = "release_review_reason"
)

// reviewVerdicts are the first word of a review dialog's metadata.
const (
	verdictOK   = "ok"
	verdictFlag = "flag"
)

// reviewButtons are Reviewed and Not OK, on a break-glass release that needs its review.
func reviewButtons(r *release.Release) slack.Block {
	ok := slack.NewButtonBlockElement(ActionReviewOK, releaseValue(r), slack.NewTextBlockObject(slack.PlainTextType, "Reviewed", false, false))
	ok.Style = slack.StylePrimary
	flag := slack.NewButtonBlockElement(ActionReviewFlag, releaseValue(r), slack.NewTextBlockObject(slack.PlainTextType, "Not OK", false, false))
	flag.Style = slack.StyleDanger
	return slack.NewActionBlock(fmt.Sprintf("review:%s:v%d", r.ID, r.Version), ok, flag)
}

// reviewLine says how a break-glass release was reviewed, or that it waits.
func reviewLine(r *release.Release) string {
	rv := r.BreakGlass.Review
	if rv == nil {
		return fmt.Sprintf(":mag: Review by an approver due %s.", slackDate(r.BreakGlass.ReviewDue))
	}
	reason := ""
	if rv.Reason != "" {
		reason = ": " + escCut(rv.Reason, maxReason)
	}
	if rv.OK {
		return fmt.Sprintf(":white_check_mark: Reviewed by <@%s> %s%s", rv.UserID, slackDate(rv.At), reason)
	}
	return fmt.Sprintf(":x: *Flagged Not OK* by <@%s> %s%s", rv.UserID, slackDate(rv.At), reason)
}

// reviewDialog asks for the review's reason: optional for Reviewed,
// required for Not OK (checked on submission, like the reject dialog's).
func reviewDialog(r *release.Release, verdict string) slack.ModalViewRequest {
	label, title, submit := "Anything to add? (optional)", "Review break-glass", "Reviewed"
	if verdict == verdictFlag {
		label, title, submit = "Why is it not OK?", "Flag break-glass", "Not OK"
	}
	input := slack.NewPlainTextInputBlockElement(slack.NewTextBlockObject(slack.PlainTextType, label, false, false), "reason")
	input.Multiline = true
	input.MaxLength = maxReason
	if verdict == verdictFlag {
		input.MinLength = minReason // Not OK needs a reason, as reject and cancel do (reasons.go)
	}
	block := slack.NewInputBlock(reasonBlock, slack.NewTextBlockObject(slack.PlainTextType, "Reason", false, false), nil, input)
	block.Optional = verdict == verdictOK
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      CallbackReview,
		PrivateMetadata: verdict + " " + releaseValue(r),
		Title:           slack.NewTextBlockObject(slack.PlainTextType, title, false, false),
		Submit:          slack.NewTextBlockObject(slack.PlainTextType, submit, false, false),
		Close:           slack.NewTextBlockObject(slack.PlainTextType, "Cancel", false, false),
		Blocks:          slack.Blocks{BlockSet: []slack.Block{section(fmt.Sprintf("Review break-glass release `%s` after the fact.", r.ID)), block}},
	}
}

// parseReviewValue reads a review dialog's metadata: verdict, id, digest.
func parseReviewValue(v string) (verdict, id, digest string, ok bool) {
	verdict, rest, _ := strings.Cut(v, " ")
	if verdict != verdictOK && verdict != verdictFlag {
		return "", "", "", false
	}
	id, digest, ok = parseReleaseValue(rest)
	return verdict, id, digest, ok
}

// reviewClick opens the review dialog at once (the trigger_id lives 3 s);
// who may review, and whether the release still needs it, is checked on submit.
func (h *Handler) reviewClick(ctx context.Context, c *click, verdict string) string {
	id, digest, ok := parseReleaseValue(c.action.Value)
	if !ok {
		return "That button is not one of mine any more."
	}
	c.log = c.log.With().Str("release_id", id).Logger()
	if h.d.Views == nil || c.cb.TriggerID == "" {
		return reviewNotOpened
	}
	if err := h.d.Views.OpenView(ctx, c.cb.TriggerID, reviewDialog(&release.Release{ID: id, ManifestDigest: digest}, verdict)); err != nil {
		c.log.Warn().Err(err).Msg("review dialog could not be opened: nothing changed")
		return reviewNotOpened
	}
	return ""
}

const reviewNotOpened = "The review dialog could not be opened, so nothing changed. Click the button again."

// reviewReason is the reason typed in a review dialog and what is wrong
// with it: Not OK needs one of 3 to 500 characters, as reject and cancel do
// (checkReason); Reviewed takes none, or one of at most 500.
func reviewReason(cb slack.InteractionCallback, verdict string) (reason, problem string) {
	reason, problem = submittedReason(cb)
	if verdict == verdictOK && utf8.RuneCountInString(reason) <= maxReason {
		problem = ""
	}
	return reason, problem
}

// reviewSubmitted records the review named in the dialog's metadata, once:
// the first review wins, by a compare-and-set, and any later one is told so.
func (h *Handler) reviewSubmitted(ctx context.Context, cb slack.InteractionCallback) {
	verdict, id, digest, ok := parseReviewValue(cb.View.PrivateMetadata)
	if !ok {
		return
	}
	reason, problem := reviewReason(cb, verdict)
	if problem != "" {
		return // the ack kept the dialog open
	}
	r, p, text := h.releaseAndPipeline(ctx, id)
	if text == "" && digest != r.ManifestDigest {
		text = "The release changed since the dialog opened."
	}
	if text == "" {
		text = h.review(ctx, r, p, cb.User.ID, cb.Team.ID, verdict == verdictOK, reason)
	}
	if text != "" && r != nil && r.Channel != "" {
		if err := h.d.Slack.PostEphemeral(ctx, r.Channel, cb.User.ID, text, nil); err != nil {
			h.d.Logger.Warn().Err(err).Msg("could not answer the review dialog")
		}
	}
}

// review checks that userID may review r and records it; "" when done, else
// what to tell them.
func (h *Handler) review(ctx context.Context, r *release.Release, p *config.Pipeline, userID, teamID string, ok bool, reason string) string {
	if r.BreakGlass == nil {
		return fmt.Sprintf("Release `%s` is not a break-glass release.", r.ID)
	}
	if rv := r.BreakGlass.Review; rv != nil {
		return fmt.Sprintf("Release `%s` was already reviewed by <@%s>.", r.ID, rv.UserID)
	}
	if !r.NeedsReview() {
		return fmt.Sprintf("Release `%s` has not shipped, so there is nothing to review yet.", r.ID)
	}
	if text := h.isApprover(ctx, p, userID, teamID, "review a break-glass release of"); text != "" {
		return text
	}
	if userID == r.BreakGlass.By && !p.Approvals.AllowSelfApproval {
		return "You proposed this break-glass release, so another approver must review it."
	}
	rv := &release.Review{UserID: userID, At: h.d.Now().UTC(), OK: ok, Reason: reason}
	var won bool
	next, err := h.d.Releases.Amend(ctx, r.ID, 0, func(x *release.Release) {
		won = x.BreakGlass != nil && x.BreakGlass.Review == nil
		if won {
			x.BreakGlass.Review = rv
			// The review goes to Kosli as the release's decision again,
			// with the verdict: OK makes every artifact's decision
			// compliant, Not OK keeps it non-compliant; and on the trail
			// as break-glass-review, which closes the workflow's gate to a
			// second run of the release's inputs (deploy/github/promote.yml).
			if x.Evidence != nil && x.Evidence.Control != "" {
				x.AddEvidence(release.EvidenceItem{ID: "decision-review", Kind: release.EvidenceDecision, Compliant: ok,
					Cause: release.Approved, By: userID, Note: reviewNote(ok, reason), CreatedAt: rv.At})
			}
			data := map[string]any{"reviewed_by": userID, "at": rv.At.Format(time.RFC3339), "ok": ok}
			if reason != "" {
				data["reason"] = reason
			}
			x.AddEvidence(release.EvidenceItem{ID: "break-glass-review", Kind: release.EvidenceOutcome, Name: "break-glass-review",
				Compliant: ok, By: userID, Data: data, CreatedAt: rv.At})
		}
	})
	if err != nil {
		ref := newRef()
		h.d.Logger.Error().Err(err).Str("release_id", r.ID).Str("ref", ref).Msg("recording the review failed")
		return somethingWrong(ref)
	}
	if !won {
		return fmt.Sprintf("Release `%s` was already reviewed by <@%s>.", r.ID, next.BreakGlass.Review.UserID)
	}
	h.d.Logger.Info().Str("release_id", r.ID).Str("by", userID).Bool("ok", ok).Msg("break-glass release reviewed")
	h.wakeEvidence()
	h.refresh(ctx, next)
	h.reply(ctx, next, reviewLine(next))
	return ""
}

// reviewNote is a review in the words recorded in Kosli.
func reviewNote(ok bool, reason string) string {
	verdict := "break-glass review: OK"
	if !ok {
		verdict = "break-glass review: NOT OK"
	}
	if reason != "" {
		return verdict + ": " + reason
	}
	return verdict
}

// overdueScan is how many of a pipeline's latest releases are looked at for
// an overdue review.
const overdueScan = 50

// overdueReviews are p's break-glass releases whose review is overdue,
// newest first; none when they cannot be read (logged).
func (h *Handler) overdueReviews(ctx context.Context, p *config.Pipeline) []*release.Release {
	if h.d.Releases == nil {
		return nil
	}
	list, err := h.d.Releases.List(ctx, p.Name, overdueScan)
	if err != nil {
		h.d.Logger.Warn().Err(err).Str("pipeline", p.Name).Msg("overdue reviews could not be read")
		return nil
	}
	now := h.d.Now()
	var out []*release.Release
	for _, r := range list {
		if r.ReviewOverdue(now) {
			out = append(out, r)
		}
	}
	return out
}

// overdueLine names a break-glass release whose review is overdue.
func overdueLine(r *release.Release) string {
	return fmt.Sprintf(":alarm_clock: *Break-glass review overdue*: `%s` (proposed by <@%s>: %s) was due %s. An approver: *Reviewed* or *Not OK* on its message.",
		r.ID, r.BreakGlass.By, escCut(r.BreakGlass.Reason, 200), slackDate(r.BreakGlass.ReviewDue))
}

// sweepOverdue counts each newly overdue review once, whichever replica
// sweeps first, and tells its thread.
func (h *Handler) sweepOverdue(ctx context.Context, p *config.Pipeline) {
	for _, r := range h.overdueReviews(ctx, p) {
		first, err := h.d.Releases.Once(ctx, "review-overdue:"+r.ID, 90*24*time.Hour)
		if err != nil || !first {
			continue
		}
		h.d.Metrics.ReviewsOverdue.WithLabelValues(p.Name).Inc()
		h.d.Logger.Warn().Str("release_id", r.ID).Msg("break-glass review overdue")
		_, _, who := h.resolve(ctx, p.Approvals.Approvers)
		h.reply(ctx, r, overdueLine(r)+" "+strings.Join(who, " "))
	}
}
