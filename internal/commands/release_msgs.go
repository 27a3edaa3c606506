package commands

import (
	"context"
	"time"

	"github.com/slack-go/slack"

	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/retry"
)

// tellTimeout bounds telling Slack of a change once shutdown has begun.
const tellTimeout = 15 * time.Second

// telling is the context for telling the thread or the parent message of a
// change already made in Redis. Nobody else will tell it (the change has
// moved on), so it goes out even when ctx was cancelled by shutdown a moment
// after the change, within tellTimeout so that stopping stays bounded.
func telling(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), tellTimeout)
}

// parentWait bounds how long telling waits for a release's message to be
// recorded (see located), and parentPoll is how often it looks.
const (
	parentWait = 5 * time.Second
	parentPoll = 50 * time.Millisecond
)

// located returns the release with its parent message known. propose posts
// the message and only then records its ts, so a command that changes the
// release in between (a /release cancel typed the moment the message shows)
// reads the release again until the ts is there, within parentWait. It
// returns the release as last read (its newest state), or nil when it still
// has no message: then there is nothing to tell, and it is logged.
func (h *Handler) located(ctx context.Context, r *release.Release) *release.Release {
	if r == nil || r.MessageTS != "" {
		return r
	}
	for range int(parentWait / parentPoll) {
		if retry.Sleep(ctx, parentPoll) != nil {
			break
		}
		next, err := h.d.Releases.Get(ctx, r.ID)
		if err != nil {
			h.d.Logger.Warn().Err(err).Str("release_id", r.ID).Msg("reading the release for its message")
			continue
		}
		if next.MessageTS != "" {
			return next
		}
	}
	h.d.Logger.Warn().Str("release_id", r.ID).Dur("waited", parentWait).Msg("the release has no message to tell of a change in")
	return nil
}

// reply posts in the release's thread, even once shutdown has begun (telling).
func (h *Handler) reply(ctx context.Context, r *release.Release, text string) {
	if r == nil {
		return
	}
	ctx, cancel := telling(ctx)
	defer cancel()
	if r = h.located(ctx, r); r == nil {
		return
	}
	if _, err := h.d.Slack.PostMessage(ctx, r.Channel, r.MessageTS, truncate(text, maxSectionText), []slack.Block{section(text)}); err != nil {
		h.d.Logger.Error().Err(err).Str("release_id", r.ID).Msg("thread reply failed")
	}
}

// afterChange reads the release again and refreshes its message.
func (h *Handler) afterChange(ctx context.Context, id string) *release.Release {
	r, err := h.d.Releases.Get(ctx, id)
	if err != nil {
		h.d.Logger.Error().Err(err).Str("release_id", id).Msg("reading the release after a change")
		return nil
	}
	h.refresh(ctx, r)
	return r
}

// Refresh is refresh for other packages (the dispatcher, the drift reports).
func (h *Handler) Refresh(ctx context.Context, id string) *release.Release {
	return h.afterChange(ctx, id)
}

// Reply is reply for other packages.
func (h *Handler) Reply(ctx context.Context, r *release.Release, text string) { h.reply(ctx, r, text) }
