package commands

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/release-bot/release-bot/internal/config"
	"github.com/release-bot/release-bot/internal/release"
)

// A decision that ends a release (reject, cancel, a review's "Not OK") asks
// for its reason in one kind of modal: a ReasonAsk says what it is called and
// what its submission does; ReasonModal draws it, SubmissionAck keeps it open
// while the reason is too short or too long, and reasonSubmitted checks who
// submitted it and whether the release can still take it before Decide runs.

// Reason lengths, in runes of what was typed (trimmed): Slack's input stops
// at maxReason and refuses to submit fewer than minReason, and the ack says
// so again for a payload that did not come through Slack's client.
const (
	minReason = 3
	maxReason = 500
)

// reasonBlock and reasonAction name the modal's input (block id, action id).
const (
	reasonBlock  = "reason"
	reasonAction = "reason"
)

// CallbackCancel is the cancel dialog's callback id.
const CallbackCancel = "release_cancel_reason"

// ReasonAsk is one decision that needs a reason.
type ReasonAsk struct {
	// CallbackID is the modal's callback id, unique per kind.
	CallbackID string
	// Title (≤ 24 characters) and Submit (≤ 24) are the modal's title and button.
	Title, Submit string
	// Question labels the reason's input ("Why is it rejected?").
	Question string
	// Lead is the section above the input, in mrkdwn, for release r.
	Lead func(r *release.Release) string
	// Decide makes the decision on release r of pipeline p, by user, for
	// reason (valid, trimmed), once the submitter may decide and the modal
	// is for r's current manifest; it returns what the submitter is told,
	// "" when the thread says it all.
	Decide func(h *Handler, ctx context.Context, r *release.Release, p *config.Pipeline, user, reason string) string
}

// reasonAsks are the decisions that ask for a reason, by callback id.
var reasonAsks = map[string]ReasonAsk{
	CallbackReject: {
		CallbackID: CallbackReject, Title: "Reject release", Submit: "Reject", Question: "Why is it rejected?",
		Lead: func(r *release.Release) string {
			return fmt.Sprintf("Reject release `%s`? One rejection ends it.", r.ID)
		},
		Decide: func(h *Handler, ctx context.Context, r *release.Release, p *config.Pipeline, user, reason string) string {
			return h.reject(ctx, r, p, user, reason)
		},
	},
	CallbackCancel: {
		CallbackID: CallbackCancel, Title: "Cancel release", Submit: "Cancel release", Question: "Why is it cancelled?",
		Lead: func(r *release.Release) string {
			return fmt.Sprintf("Cancel release `%s`? A release being deployed has its workflow run cancelled too.", r.ID)
		},
		Decide: func(h *Handler, ctx context.Context, r *release.Release, p *config.Pipeline, user, reason string) string {
			text, err := h.cancelRelease(ctx, r, p, user, reason)
			if err != nil {
				return h.explainDecision(ctx, r, err)
			}
			return text
		},
	},
}

// ReasonModal is the modal that asks for the reason of ask's decision on r;
// its private metadata is r's id and manifest digest, as a button's value.
// https://api.slack.com/reference/surfaces/views (title and submit ≤ 24)
// https://api.slack.com/reference/block-kit/block-elements#input (min_length, max_length)
func ReasonModal(ask ReasonAsk, r *release.Release) slack.ModalViewRequest {
	input := slack.NewPlainTextInputBlockElement(slack.NewTextBlockObject(slack.PlainTextType, ask.Question, false, false), reasonAction)
	input.Multiline = true
	input.MinLength, input.MaxLength = minReason, maxReason
	block := slack.NewInputBlock(reasonBlock, slack.NewTextBlockObject(slack.PlainTextType, "Reason", false, false),
		slack.NewTextBlockObject(slack.PlainTextType, fmt.Sprintf("%d to %d characters; everyone in the channel sees it, and Kosli keeps it.", minReason, maxReason), false, false),
		input)
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      ask.CallbackID,
		PrivateMetadata: releaseValue(r),
		Title:           slack.NewTextBlockObject(slack.PlainTextType, ask.Title, false, false),
		Submit:          slack.NewTextBlockObject(slack.PlainTextType, ask.Submit, false, false),
		Close:           slack.NewTextBlockObject(slack.PlainTextType, "Back", false, false),
		Blocks:          slack.Blocks{BlockSet: []slack.Block{section(ask.Lead(r)), block}},
	}
}

// checkReason trims a typed reason and says what is wrong with it, "" when
// nothing is.
func checkReason(typed string) (reason, problem string) {
	reason = strings.TrimSpace(typed)
	switch n := utf8.RuneCountInString(reason); {
	case n < minReason:
		return reason, fmt.Sprintf("Say why, in at least %d characters.", minReason)
	case n > maxReason:
		return reason, fmt.Sprintf("Keep the reason to %d characters (this one has %d).", maxReason, n)
	}
	return reason, ""
}

// submittedReason is the reason typed in a submitted reason modal.
func submittedReason(cb slack.InteractionCallback) (reason, problem string) {
	typed := ""
	if cb.View.State != nil {
		typed = cb.View.State.Values[reasonBlock][reasonAction].Value
	}
	return checkReason(typed)
}

// SubmissionAck is the payload to ack a view_submission with, nil for a
// plain ack (which closes the dialog). A reason modal whose reason is too
// short or too long is answered with an error on its reason block, so it
// stays open; Slack only reads response_action from the ack itself.
// https://api.slack.com/surfaces/modals#displaying_errors
func SubmissionAck(cb slack.InteractionCallback) *slack.ViewSubmissionResponse {
	if cb.Type != slack.InteractionTypeViewSubmission {
		return nil
	}
	if cb.View.CallbackID == CallbackReview {
		verdict, _, _, _ := parseReviewValue(cb.View.PrivateMetadata)
		if _, problem := reviewReason(cb, verdict); problem != "" {
			return slack.NewErrorsViewSubmissionResponse(map[string]string{reasonBlock: problem})
		}
		return nil
	}
	if _, ok := reasonAsks[cb.View.CallbackID]; !ok {
		return nil
	}
	if _, problem := submittedReason(cb); problem != "" {
		return slack.NewErrorsViewSubmissionResponse(map[string]string{reasonBlock: problem})
	}
	return nil
}

// ViewAck is SubmissionAck as a method, for a Socket Mode loop that asks its
// handler what to ack a view_submission with.
func (h *Handler) ViewAck(cb slack.InteractionCallback) *slack.ViewSubmissionResponse {
	return SubmissionAck(cb)
}

// openReason opens ask's modal for release r with a trigger from a click
// or a slash command; false when it could not be opened (nothing changed).
func (h *Handler) openReason(ctx context.Context, ask ReasonAsk, r *release.Release, triggerID string) bool {
	if h.d.Views == nil || triggerID == "" {
		h.d.Logger.Warn().Str("release_id", r.ID).Str("modal", ask.CallbackID).Msg("no trigger to open the reason modal with")
		return false
	}
	if err := h.d.Views.OpenView(ctx, triggerID, ReasonModal(ask, r)); err != nil {
		h.d.Logger.Warn().Err(err).Str("release_id", r.ID).Str("modal", ask.CallbackID).Msg("reason modal could not be opened: nothing changed")
		return false
	}
	return true
}

// reasonSubmitted makes the decision a reason modal asked for. A submission
// whose reason is not valid changes nothing (its ack kept the modal open);
// one for a release that ended meanwhile, or a second one, changes nothing
// and the submitter is told why, in the release's channel.
func (h *Handler) reasonSubmitted(ctx context.Context, cb slack.InteractionCallback, ask ReasonAsk) {
	meta, fromHome := strings.CutSuffix(cb.View.PrivateMetadata, fromHomeSuffix)
	id, digest, ok := parseReleaseValue(meta)
	if !ok {
		h.d.Logger.Warn().Str("user", cb.User.ID).Str("modal", ask.CallbackID).Msg("reason modal without a release: nothing changed")
		return
	}
	log := h.d.Logger.With().Str("release_id", id).Str("user", cb.User.ID).Str("modal", ask.CallbackID).Logger()
	reason, problem := submittedReason(cb)
	if problem != "" {
		log.Info().Msg("reason modal submitted without a valid reason: nothing changed")
		return
	}
	r, p, text := h.releaseAndPipeline(ctx, id)
	switch {
	case text != "":
	case !r.State.Open():
		text = endedText(r)
	default:
		text = h.mayDecide(ctx, r, p, cb.User.ID, cb.Team.ID)
	}
	if text == "" && digest != r.ManifestDigest {
		text = "The release changed since the dialog opened, so nothing changed. Use the buttons on its current message."
	}
	if text == "" {
		text = ask.Decide(h, ctx, r, p, cb.User.ID, reason)
	}
	if fromHome {
		// Opened from the Home tab: the person is there, maybe not in the channel.
		if text == "" {
			text = fmt.Sprintf("Done: `%s` is decided, and its thread says so.", id)
			if ask.CallbackID == CallbackReject {
				text = fmt.Sprintf(":no_entry: You rejected `%s`: its thread says so.", id)
			}
		}
		h.answerOnHome(ctx, cb.User.ID, text)
		return
	}
	if text != "" && r != nil && r.Channel != "" {
		if err := h.d.Slack.PostEphemeral(ctx, r.Channel, cb.User.ID, text, nil); err != nil {
			log.Warn().Err(err).Msg("could not answer the dialog")
		}
	}
}

// fromHomeSuffix ends the private metadata of a reason modal opened from
// the Home tab, after the release value.
const fromHomeSuffix = " home"

// endedText tells someone whose decision came after the release ended (or
// after their own, a moment before) that it changed nothing.
func endedText(r *release.Release) string {
	by := ""
	if n := len(r.History); n > 0 && r.History[n-1].By != "" {
		by = fmt.Sprintf(" (by <@%s>)", r.History[n-1].By)
	}
	return fmt.Sprintf("Release `%s` is already %s%s, so nothing changed and your reason was not recorded.", r.ID, r.State.Label(), by)
}

// reasonLine is a decision's line in the thread: what happened and the
// reason, escaped and cut to fit a section.
func reasonLine(line, reason string) string {
	return line + escCut(reason, maxSectionText-utf8.RuneCountInString(line))
}
