package commands

import (
	"context"
	"fmt"

	"github.com/slack-go/slack"
)

// Interaction answers a button click or a submitted dialog. A click on
// something the bot no longer knows (an old message, a removed feature) is
// answered, never dropped.
func (h *Handler) Interaction(ctx context.Context, cb slack.InteractionCallback) {
	log := h.d.Logger.With().Str("user", cb.User.ID).Str("channel", cb.Channel.ID).Logger()
	action := ""
	if len(cb.ActionCallback.BlockActions) > 0 {
		action = cb.ActionCallback.BlockActions[0].ActionID
	}
	outcome := "stale"
	defer func() { h.d.Metrics.Commands.WithLabelValues(clickLabel(action), outcome).Inc() }()
	if s := h.d.Config.Settings; (s.TeamID != "" && cb.Team.ID != s.TeamID) || (s.AppID != "" && cb.APIAppID != "" && cb.APIAppID != s.AppID) {
		log.Warn().Str("team", cb.Team.ID).Str("app", cb.APIAppID).Msg("click from another workspace or app refused")
		outcome = "refused"
		if !homeClick(cb) { // no Home is published for another workspace's user
			h.clickReply(ctx, cb, "This release-bot does not serve this workspace.")
		}
		return
	}
	if ask, ok := reasonAsks[cb.View.CallbackID]; ok && cb.Type == slack.InteractionTypeViewSubmission && h.d.Releases != nil {
		outcome = "ok"
		h.reasonSubmitted(ctx, cb, ask)
		return
	}
	if cb.Type == slack.InteractionTypeViewSubmission && cb.View.CallbackID == CallbackReview && h.d.Releases != nil {
		outcome = "ok"
		h.reviewSubmitted(ctx, cb)
		return
	}
	if len(cb.ActionCallback.BlockActions) == 0 || h.d.Releases == nil {
		log.Info().Str("action", action).Msg("interaction this bot does not handle")
		h.clickReply(ctx, cb, "That button is no longer active.")
		return
	}
	c := &click{cb: cb, action: *cb.ActionCallback.BlockActions[0], log: log}
	var reply string
	switch action {
	case ActionApprove:
		reply = h.approveClick(ctx, c)
	case ActionReject:
		reply = h.rejectClick(ctx, c)
	case ActionReviewOK:
		reply = h.reviewClick(ctx, c, verdictOK)
	case ActionReviewFlag:
		reply = h.reviewClick(ctx, c, verdictFlag)
	case ActionPropose:
		// The drift report's button: exactly /release propose <pipeline>, as the person who clicked.
		h.command(ctx, slack.SlashCommand{
			TeamID: cb.Team.ID, ChannelID: cb.Channel.ID, UserID: cb.User.ID, UserName: cb.User.Name,
			Command: "/release", Text: "propose " + c.action.Value, ResponseURL: cb.ResponseURL, TriggerID: cb.TriggerID,
		}, true)
	default:
		log.Info().Str("action", action).Msg("click on a button this bot does not know")
		reply = "That button is no longer active."
	}
	outcome = "ok"
	if reply == "" && action == ActionApprove && homeClick(cb) {
		// On a channel message the thread says it; the Home says it too.
		if id, _, ok := parseReleaseValue(c.action.Value); ok {
			h.answerOnHome(ctx, cb.User.ID, fmt.Sprintf(":ballot_box_with_check: Your approval of `%s` is counted: its thread says where it stands.", id))
		}
		return
	}
	if reply != "" {
		outcome = "answered"
		h.clickReply(ctx, cb, reply)
	}
}

// clickReply answers the person who clicked, visible to them only: through
// the click's response_url, or on their Home tab for a click there (a Home
// has neither a response_url nor a channel for an ephemeral).
func (h *Handler) clickReply(ctx context.Context, cb slack.InteractionCallback, text string) {
	if homeClick(cb) {
		h.answerOnHome(ctx, cb.User.ID, text)
		return
	}
	if cb.ResponseURL == "" {
		return
	}
	err := h.d.Slack.Respond(ctx, cb.ResponseURL, &slack.WebhookMessage{
		ResponseType: slack.ResponseTypeEphemeral, ReplaceOriginal: false, Text: text,
	})
	if err != nil {
		h.d.Logger.Warn().Err(err).Msg("could not answer a click")
	}
}
