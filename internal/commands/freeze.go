package commands

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/slack-go/slack"

	"github.com/release-bot/release-bot/internal/config"
	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/store"
)

// Freezes is the pipelines' ad hoc freezes (/release freeze), shared by
// every replica (the store).
type Freezes interface {
	SetFreeze(ctx context.Context, pipeline string, w release.FreezeWindow) (*release.FreezeWindow, error)
	Unfreeze(ctx context.Context, pipeline string) (*release.FreezeWindow, error)
	AdHocFreeze(ctx context.Context, pipeline string) (*release.FreezeWindow, error)
}

var _ Freezes = (*store.Store)(nil)

// adHocName is the name an ad hoc freeze goes by.
const adHocName = "ad hoc freeze"

// configWindows are the configured windows that apply to p, for release.FrozenAt.
func configWindows(cfg *config.Config, p *config.Pipeline) []release.FreezeWindow {
	var out []release.FreezeWindow
	for _, f := range cfg.Freezes(p) {
		w := release.FreezeWindow{Name: f.Name, Reason: f.Reason, From: f.From, Until: f.Until}
		if f.Recurring() {
			w.Start, w.Duration = f.Start, f.Duration.Duration()
		}
		out = append(out, w)
	}
	return out
}

// frozen says whether p is frozen at t, by its configured windows and its
// ad hoc freeze. An error (Redis cannot be read) leaves the answer unknown:
// callers that would ship treat it as frozen.
func (h *Handler) frozen(ctx context.Context, p *config.Pipeline, t time.Time) (release.Freeze, bool, error) {
	windows := configWindows(h.d.Config, p)
	if h.d.Freezes != nil {
		w, err := h.d.Freezes.AdHocFreeze(ctx, p.Name)
		if err != nil {
			return release.Freeze{}, false, err
		}
		if w != nil {
			windows = append(windows, *w)
		}
	}
	f, ok := release.FrozenAt(windows, t)
	return f, ok, nil
}

// freezeFor is the freeze shown in a diff, drift report, status or list:
// nil when p is not frozen, or when that cannot be read (logged; those
// messages are not the place to fail).
func (h *Handler) freezeFor(ctx context.Context, p *config.Pipeline) *release.Freeze {
	f, ok, err := h.frozen(ctx, p, h.d.Now())
	if err != nil {
		h.d.Logger.Warn().Err(err).Str("pipeline", p.Name).Msg("the pipeline's freeze could not be read")
		return nil
	}
	if !ok {
		return nil
	}
	return &f
}

// freezeLine says that a pipeline is frozen: which window, until when, why.
// Every message about a freeze uses it, so they all say the same.
func freezeLine(pipeline string, f *release.Freeze) string {
	by := "*" + esc(f.Window.Name) + "*"
	if f.Window.AdHoc() {
		by = fmt.Sprintf("an ad hoc freeze by <@%s>", f.Window.By)
	}
	more := ""
	switch f.Others {
	case 0:
	case 1:
		more = " (and 1 more window)"
	default:
		more = fmt.Sprintf(" (and %d more windows)", f.Others)
	}
	why := ""
	if f.Window.Reason != "" {
		why = ": " + escCut(f.Window.Reason, config.MaxFreezeReason)
	}
	return fmt.Sprintf(":snowflake: *Pipeline `%s` is frozen* until %s by %s%s%s.", pipeline, slackDate(f.Until), by, more, why)
}

// refuseFrozen is propose's answer while p is frozen, nil when it is not
// (or the release is a break-glass one, which ignores freezes).
func (h *Handler) refuseFrozen(ctx context.Context, p *config.Pipeline, breakGlass bool) error {
	if breakGlass {
		return nil
	}
	f, ok, err := h.frozen(ctx, p, h.d.Now())
	if err != nil || !ok {
		return err
	}
	text := freezeLine(p.Name, &f) + " No release can be proposed until then."
	if p.BreakGlass != nil {
		text += fmt.Sprintf(" In an emergency: `/release propose %s --break-glass <reason>`.", p.Name)
	}
	return &refusalError{text}
}

// isApprover says why userID may not freeze or unfreeze p, "" when they
// may: only the pipeline's approvers may.
func (h *Handler) isApprover(ctx context.Context, p *config.Pipeline, userID, teamID, what string) string {
	pol, rule := h.policy(ctx, p)
	who, err := h.clicker(ctx, userID, teamID)
	if err != nil {
		ref := newRef()
		h.d.Logger.Error().Err(err).Str("ref", ref).Msg("could not look the user up")
		return somethingWrong(ref)
	}
	if who.IsBot || who.IsGuest || who.Deleted || !pol.MayApprove(who) {
		return fmt.Sprintf("Only the approvers of pipeline `%s` (%s) can %s it.", p.Name, rule, what)
	}
	return ""
}

// freeze answers /release freeze: an ad hoc freeze of p, announced in its channel.
func (h *Handler) freeze(ctx context.Context, inv *invocation, p *config.Pipeline, req Request) error {
	if h.d.Freezes == nil {
		return fmt.Errorf("%w: /release freeze", errNotHere)
	}
	if text := h.isApprover(ctx, p, inv.cmd.UserID, inv.cmd.TeamID, "freeze"); text != "" {
		return &refusalError{text}
	}
	now := h.d.Now()
	until := req.FreezeUntil
	if req.FreezeFor > 0 {
		until = now.Add(req.FreezeFor)
	}
	if !until.After(now) {
		return &refusalError{fmt.Sprintf("%s is in the past: a freeze must end later than now (%s).", until.UTC().Format(time.RFC3339), slackDate(now))}
	}
	w := release.FreezeWindow{Name: adHocName, Reason: req.Reason, By: inv.cmd.UserID, At: now, From: now, Until: until}
	old, err := h.d.Freezes.SetFreeze(ctx, p.Name, w)
	if errors.Is(err, store.ErrNotDurable) {
		inv.log.Warn().Err(err).Msg("freeze not confirmed by the Redis replicas")
		return &refusalError{notRecorded("freeze", "Run the command again.")}
	}
	if err != nil {
		return err
	}
	inv.log.Info().Time("until", until).Msg("pipeline frozen")
	text := fmt.Sprintf(":snowflake: <@%s> froze pipeline `%s` until %s: %s. Releases are not proposed or dispatched until then; an approved release waits. `/release unfreeze %s` lifts it.",
		inv.cmd.UserID, p.Name, slackDate(until), escCut(req.Reason, MaxReason), p.Name)
	if old != nil {
		text += fmt.Sprintf(" It replaces the freeze by <@%s> until %s.", old.By, slackDate(old.Until))
	}
	if _, err := h.d.Slack.PostMessage(ctx, string(p.Channel), "", truncate(text, maxFallbackText), []slack.Block{section(text)}); err != nil {
		return fmt.Errorf("announcing the freeze: %w", err)
	}
	inv.working.done(ctx)
	return nil
}

// unfreeze answers /release unfreeze: lifts p's ad hoc freeze, announced in
// its channel; a configured window cannot be lifted this way.
func (h *Handler) unfreeze(ctx context.Context, inv *invocation, p *config.Pipeline) error {
	if h.d.Freezes == nil {
		return fmt.Errorf("%w: /release unfreeze", errNotHere)
	}
	if text := h.isApprover(ctx, p, inv.cmd.UserID, inv.cmd.TeamID, "unfreeze"); text != "" {
		return &refusalError{text}
	}
	now := h.d.Now()
	configured, stillFrozen := release.FrozenAt(configWindows(h.d.Config, p), now)
	ad, err := h.d.Freezes.AdHocFreeze(ctx, p.Name)
	if err != nil {
		return err
	}
	if ad == nil {
		if stillFrozen {
			return &refusalError{freezeLine(p.Name, &configured) + " That window is in the configuration, which `/release unfreeze` cannot lift: change the config file."}
		}
		return &refusalError{fmt.Sprintf("Pipeline `%s` is not frozen.", p.Name)}
	}
	lifted, err := h.d.Freezes.Unfreeze(ctx, p.Name)
	if errors.Is(err, store.ErrNotDurable) {
		inv.log.Warn().Err(err).Msg("unfreeze not confirmed by the Redis replicas")
		return &refusalError{notRecorded("unfreeze", "Run the command again.")}
	}
	if err != nil {
		return err
	}
	if lifted == nil {
		// Lifted by someone else, or ended, between the two reads.
		return &refusalError{fmt.Sprintf("Pipeline `%s` is not frozen.", p.Name)}
	}
	inv.log.Info().Msg("pipeline unfrozen")
	text := fmt.Sprintf(":sunny: <@%s> lifted the freeze of pipeline `%s` (by <@%s> until %s: %s).",
		inv.cmd.UserID, p.Name, lifted.By, slackDate(lifted.Until), escCut(lifted.Reason, MaxReason))
	if f, ok, ferr := h.frozen(ctx, p, now); ferr == nil && ok {
		text += " " + freezeLine(p.Name, &f)
	} else {
		text += " Releases can be proposed and dispatched again."
	}
	if _, err := h.d.Slack.PostMessage(ctx, string(p.Channel), "", truncate(text, maxFallbackText), []slack.Block{section(text)}); err != nil {
		return fmt.Errorf("announcing the unfreeze: %w", err)
	}
	inv.working.done(ctx)
	h.resumeThawed(ctx, p)
	return nil
}

// resumeThawed ships p's approved release that waited for a freeze, now
// rather than at the next sweep. ship is safe to repeat: its move is a
// compare-and-set, so whichever replica gets there first dispatches.
func (h *Handler) resumeThawed(ctx context.Context, p *config.Pipeline) {
	r, err := h.d.Releases.Active(ctx, p.Name)
	if err != nil || r == nil || r.State != release.Approved || r.FrozenUntil.IsZero() {
		return
	}
	h.ship(ctx, r, p, h.d.Logger.With().Str("release_id", r.ID).Logger())
}

// holdForFreeze keeps an approved release from its dispatch while p is
// frozen: the thread is told until when, once per end (a longer freeze is
// told again), and the sweep takes it up when the freeze ends.
func (h *Handler) holdForFreeze(ctx context.Context, r *release.Release, p *config.Pipeline, f *release.Freeze) {
	if r.FrozenUntil.Equal(f.Until) {
		h.d.Logger.Debug().Str("release_id", r.ID).Msg("the release is still held by the freeze")
		return
	}
	// The mark is a compare-and-set on the latest version (the evidence
	// outbox amends the release meanwhile): of any number of replicas, the
	// one whose write makes the change tells.
	var marked bool
	next, err := h.d.Releases.Amend(ctx, r.ID, 0, func(x *release.Release) {
		marked = x.State == release.Approved && !x.FrozenUntil.Equal(f.Until)
		if marked {
			x.FrozenUntil = f.Until
		}
	})
	if err != nil || !marked {
		return // moved or marked elsewhere meanwhile: whoever did tells the thread
	}
	h.d.Logger.Info().Str("release_id", r.ID).Time("until", f.Until).Msg("approved release waits for the freeze to end")
	h.refresh(ctx, next)
	h.reply(ctx, next, freezeLine(p.Name, f)+" The release is approved and *waits*: when the freeze ends I check the environments for drift again, and dispatch it if nothing changed.")
}
