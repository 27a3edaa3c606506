package commands

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/slack-go/slack"

	"github.com/release-bot/release-bot/internal/kosli"
)

// kosliError is a failure to read the environments, kept apart so that the
// person is told it was Kosli, not the bot.
type kosliError struct {
	err      error
	from, to string
}

func (e *kosliError) Error() string {
	return fmt.Sprintf("reading %s and %s from Kosli: %v", e.from, e.to, e.err)
}
func (e *kosliError) Unwrap() error { return e.err }

// newRef is a short reference a person can quote and an operator can grep for.
func newRef() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func somethingWrong(ref string) string {
	return fmt.Sprintf(":warning: Something went wrong on my side (ref `%s`). The details are in the bot's log.", ref)
}

// explain turns an error into what the person reads; the detail goes to the
// log under the same reference. err.Error() is never shown as it is.
func (h *Handler) explain(inv *invocation, err error) string {
	var refusal *refusalError
	if errors.As(err, &refusal) {
		inv.log.Info().Str("refusal", refusal.text).Msg("command refused")
		return refusal.text
	}
	ref := newRef()
	inv.log.Error().Err(err).Str("ref", ref).Msg("command failed")
	var ke *kosliError
	if errors.As(err, &ke) {
		var unreachable *kosli.UnreachableError
		var api *kosli.APIError
		switch {
		case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &unreachable):
			return fmt.Sprintf(":warning: Kosli did not answer in time, so I could not read %s and %s. Try again in a minute (ref `%s`).", ke.from, ke.to, ref)
		case errors.Is(err, kosli.ErrUnauthorized) || errors.Is(err, kosli.ErrForbidden):
			return fmt.Sprintf(":warning: Kosli refused the bot's API token: an operator needs to check `KOSLI_API_TOKEN` (ref `%s`).", ref)
		case errors.Is(err, kosli.ErrNotFound) && errors.As(err, &api) && api.Summary != "":
			return fmt.Sprintf(":warning: %s. Check the pipeline's `from`/`to` environments (ref `%s`).", esc(api.Summary), ref)
		case errors.As(err, &api):
			return fmt.Sprintf(":warning: Kosli answered with an error (HTTP %d) when I read %s and %s. Try again in a minute (ref `%s`).", api.Status, ke.from, ke.to, ref)
		}
		return fmt.Sprintf(":warning: I could not read %s and %s from Kosli (ref `%s`).", ke.from, ke.to, ref)
	}
	var slackErr slack.SlackErrorResponse
	if errors.As(err, &slackErr) && (slackErr.Err == "not_in_channel" || slackErr.Err == "channel_not_found") {
		return fmt.Sprintf(":wave: I am not a member of this channel, so I cannot post here. Invite me with `/invite @release-bot`, then try again (ref `%s`).", ref)
	}
	if errors.Is(err, errNotHere) {
		return fmt.Sprintf("That is not available in this release-bot yet (ref `%s`).", ref)
	}
	return somethingWrong(ref)
}
