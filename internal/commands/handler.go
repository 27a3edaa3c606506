// Package commands is what release-bot does when a person types /release or
// clicks a button: parse, check who and where, do the work through small
// interfaces, and answer in Block Kit. It owns no connection to anything.
package commands

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/slack-go/slack"

	"github.com/release-bot/release-bot/internal/config"
	"github.com/release-bot/release-bot/internal/metrics"
	"github.com/release-bot/release-bot/internal/release"
)

// Slack is what the handler needs of Slack's Web API.
type Slack interface {
	PostMessage(ctx context.Context, channel, threadTS, text string, blocks []slack.Block) (string, error)
	UpdateMessage(ctx context.Context, channel, ts, text string, blocks []slack.Block) error
	PostEphemeral(ctx context.Context, channel, user, text string, blocks []slack.Block) error
	Respond(ctx context.Context, responseURL string, msg *slack.WebhookMessage) error
}

// Deps are the handler's collaborators.
type Deps struct {
	Config *config.Config
	Slack  Slack
	Kosli  release.Environments
	// Links builds Kosli web links for the configured host and org.
	Links release.Links
	// KosliTimeout bounds reading the environments for one command (default 30s).
	KosliTimeout time.Duration
	Now          func() time.Time
	Logger       zerolog.Logger
	Metrics      *metrics.Metrics

	// Releases keeps release state (the store); People says who users are
	// (Slack); Gate asks Kosli about compliance; Evidence delivers each
	// release's evidence outbox to its Kosli trail; Dispatcher starts an
	// approved release. Without Releases only
	// diff and help work.
	Releases   Releases
	People     People
	Gate       release.ComplianceChecker
	Evidence   Outbox
	Dispatcher Dispatcher
	Views      Views
	// Freezes holds the ad hoc freezes; without it only configured windows freeze.
	Freezes Freezes
	// DMs and Mutes send the approvers their direct messages; without
	// either none is sent (the thread's nudges still are).
	DMs   DirectMessages
	Mutes Mutes
	// Home publishes the App Home tab and HomeStore keeps what it shows and
	// who opened it; without either there is no Home tab.
	Home      HomeTabs
	HomeStore HomeStore
	// GateParallel bounds the compliance checks run at once: a proposal's
	// gate (default 64, the person waits for it) and a drift report's
	// (default 8, it is scheduled).
	GateParallel int
}

// Handler answers slash commands and button clicks.
type Handler struct {
	d Deps
	// refreshes keeps each release message's rewrites in order.
	refreshes refreshes
	// nudges are the releases whose approvers NudgeLoop is to tell.
	nudges chan string
	// home is the Home tab's queue of changes, notices and links.
	home homeState
}

// New builds a Handler.
func New(d Deps) *Handler {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.KosliTimeout <= 0 {
		d.KosliTimeout = 30 * time.Second
	}
	if d.Metrics == nil {
		d.Metrics = metrics.New()
	}
	zeroCommands(d.Metrics)
	if d.Config != nil {
		for _, p := range d.Config.Pipelines {
			d.Metrics.ReviewsOverdue.WithLabelValues(p.Name)
		}
	}
	return &Handler{d: d, nudges: make(chan string, nudgeQueue), home: homeState{changes: make(chan string, homeQueue)}}
}

// zeroCommands creates every command and click label at zero for rate()
// (see metrics.New): the verbs and actions are this package's to list.
func zeroCommands(m *metrics.Metrics) {
	for _, v := range append(slices.Clone(Verbs), "invalid") {
		for _, outcome := range []string{"ok", "usage", "refused", "error"} {
			m.Commands.WithLabelValues(string(v), outcome)
		}
	}
	for _, action := range []string{ActionApprove, ActionReject, ActionPropose, ActionReviewOK, ActionReviewFlag, "", "other"} {
		for _, outcome := range []string{"ok", "answered", "refused", "stale"} {
			m.Commands.WithLabelValues(clickLabel(action), outcome)
		}
	}
}

// clickLabel is a click's command label: "click:" and its action id (none
// for the reject dialog's submission), "click:other" for an action this
// bot does not serve, so that old or forged buttons cannot add labels.
func clickLabel(action string) string {
	switch action {
	case ActionApprove, ActionReject, ActionPropose, ActionReviewOK, ActionReviewFlag, "":
		return "click:" + action
	}
	return "click:other"
}

// SetDispatcher sets the Dispatcher after construction: the dispatcher
// answers in threads through the handler, so each needs the other.
func (h *Handler) SetDispatcher(d Dispatcher) { h.d.Dispatcher = d }

// SetEvidence sets the evidence outbox after construction: it tells the
// handler when a decision is recorded, so each needs the other.
func (h *Handler) SetEvidence(o Outbox) { h.d.Evidence = o }

// invocation is one slash command being answered.
type invocation struct {
	cmd slack.SlashCommand
	log zerolog.Logger
	// working is the "Working on it…" ephemeral, shown when the work is slow.
	working *workingNotice
}

// Command answers one /release command. It never returns an error: every
// outcome is a message to the person, and a log line.
func (h *Handler) Command(ctx context.Context, cmd slack.SlashCommand) { h.command(ctx, cmd, false) }

// command answers a command typed, or one a button stands for (fromClick:
// the drift report's "Propose release"). A button's response_url belongs to
// the message the button is on: replace_original or delete_original there
// would replace or delete that message, not a "Working on it…" notice, so a
// click's command shows none.
func (h *Handler) command(ctx context.Context, cmd slack.SlashCommand, fromClick bool) {
	inv := &invocation{cmd: cmd, log: h.d.Logger.With().Str("user", cmd.UserID).Str("channel", cmd.ChannelID).
		Str("command", cmd.Command+" "+truncate(cmd.Text, 100)).Logger()}
	outcome := "ok"
	defer func() {
		if r := recover(); r != nil {
			ref := newRef()
			inv.log.Error().Str("ref", ref).Interface("panic", r).Str("stack", string(debug.Stack())).Msg("command panicked")
			h.ephemeral(ctx, inv, somethingWrong(ref))
			outcome = "error"
		}
		h.d.Metrics.Commands.WithLabelValues(commandLabel(cmd.Text), outcome).Inc()
	}()
	if s := h.d.Config.Settings; (s.TeamID != "" && cmd.TeamID != s.TeamID) || (s.AppID != "" && cmd.APIAppID != "" && cmd.APIAppID != s.AppID) {
		inv.log.Warn().Str("team", cmd.TeamID).Str("app", cmd.APIAppID).Msg("command from another workspace or app refused")
		h.ephemeral(ctx, inv, "This release-bot does not serve this workspace.")
		outcome = "refused"
		return
	}
	req, err := Parse(cmd.Text)
	if err != nil {
		var u *UsageError
		if errors.As(err, &u) {
			h.ephemeral(ctx, inv, u.Text)
			outcome = "usage"
			return
		}
	}
	if req.Verb == VerbHelp {
		h.ephemeral(ctx, inv, Usage)
		return
	}
	pipeline, refusal := h.pipelineFor(req, cmd.ChannelID)
	if refusal != "" {
		h.ephemeral(ctx, inv, refusal)
		outcome = "refused"
		return
	}
	inv.log = inv.log.With().Str("pipeline", pipeline.Name).Logger()
	if !fromClick {
		inv.working = h.startWorking(ctx, inv)
		defer inv.working.stop()
	}

	switch {
	case req.Verb == VerbDiff:
		err = h.diff(ctx, inv, pipeline)
	case req.Verb == VerbDrift:
		err = h.drift(ctx, inv, pipeline)
	case h.d.Releases == nil:
		err = fmt.Errorf("%w: /release %s", errNotHere, req.Verb)
	case req.Verb == VerbPropose:
		var reason string
		if reason, err = h.mayPropose(ctx, inv, pipeline, req); err == nil {
			err = h.propose(ctx, inv, pipeline, req.Services, reason, req.Ticket)
		}
	case req.Verb == VerbRollback:
		var reason string
		if reason, err = h.mayPropose(ctx, inv, pipeline, req); err == nil {
			err = h.rollback(ctx, inv, pipeline, req.ReleaseID, reason, req.Ticket)
		}
	case req.Verb == VerbFreeze:
		err = h.freeze(ctx, inv, pipeline, req)
	case req.Verb == VerbUnfreeze:
		err = h.unfreeze(ctx, inv, pipeline)
	case req.Verb == VerbStatus:
		err = h.status(ctx, inv, pipeline, req.ReleaseID)
	case req.Verb == VerbList:
		err = h.list(ctx, inv, pipeline)
	case req.Verb == VerbCancel:
		err = h.cancel(ctx, inv, pipeline, req.ReleaseID, req.Reason)
	case req.Verb == VerbMute || req.Verb == VerbUnmute:
		err = h.mute(ctx, inv, pipeline, req.Verb == VerbMute)
	default:
		err = fmt.Errorf("%w: /release %s", errNotHere, req.Verb)
	}
	if err != nil {
		// A refusal is an answer ("Nothing waits to be promoted…"), not a
		// failure: only failures may page someone through outcome="error".
		outcome = "error"
		if refusal := (*refusalError)(nil); errors.As(err, &refusal) {
			outcome = "refused"
		}
		h.ephemeral(ctx, inv, h.explain(inv, err))
	}
}

// mayPropose refuses a proposal (propose or rollback) while the pipeline
// is frozen, unless it is a break-glass one by someone allowed; it returns
// the break-glass reason, "" for any other proposal.
func (h *Handler) mayPropose(ctx context.Context, inv *invocation, p *config.Pipeline, req Request) (string, error) {
	if err := h.refuseFrozen(ctx, p, req.BreakGlass); err != nil || !req.BreakGlass {
		return "", err
	}
	if err := h.mayBreakGlass(ctx, p, inv.cmd.UserID, inv.cmd.TeamID); err != nil {
		return "", err
	}
	return req.Reason, nil
}

// errNotHere marks a subcommand this bot does not offer yet; the person is told, not left waiting.
var errNotHere = errors.New("not available in this release-bot")

// pipelineFor finds the pipeline a command is about, or says why none.
func (h *Handler) pipelineFor(req Request, channel string) (*config.Pipeline, string) {
	cfg := h.d.Config
	if req.Pipeline != "" {
		p, ok := cfg.Pipeline(req.Pipeline)
		if !ok {
			return nil, fmt.Sprintf("There is no pipeline called `%s`. Pipelines: %s.", esc(req.Pipeline), pipelineList(cfg))
		}
		// A mute is the person's own: it works wherever they type it.
		if string(p.Channel) != channel && req.Verb != VerbMute && req.Verb != VerbUnmute {
			return nil, fmt.Sprintf("`/release %s %s` works in <#%s>, the channel of pipeline `%s`.", req.Verb, p.Name, p.Channel, p.Name)
		}
		return p, ""
	}
	here := cfg.PipelinesInChannel(config.ChannelID(channel))
	switch len(here) {
	case 1:
		return here[0], ""
	case 0:
		return nil, fmt.Sprintf("No pipeline is configured for this channel. `/release` works in: %s.", pipelineList(cfg))
	}
	names := make([]string, len(here))
	for i, p := range here {
		names[i] = "`" + p.Name + "`"
	}
	return nil, fmt.Sprintf("This channel has several pipelines (%s): name one, e.g. `/release %s %s`.", strings.Join(names, ", "), req.Verb, here[0].Name)
}

func pipelineList(cfg *config.Config) string {
	var parts []string
	for _, p := range cfg.Pipelines {
		parts = append(parts, fmt.Sprintf("`%s` in <#%s>", p.Name, p.Channel))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// diff posts the pipeline's diff in the channel.
func (h *Handler) diff(ctx context.Context, inv *invocation, p *config.Pipeline) error {
	plan, err := h.plan(ctx, p, nil)
	if err != nil {
		return err
	}
	msgs := DiffMessages(DiffView{Pipeline: p.Name, Plan: plan, Links: h.d.Links, Freeze: h.freezeFor(ctx, p)})
	for i, m := range msgs {
		if _, err := h.d.Slack.PostMessage(ctx, inv.cmd.ChannelID, "", m.Text, m.Blocks); err != nil {
			return fmt.Errorf("posting diff message %d of %d: %w", i+1, len(msgs), err)
		}
	}
	inv.working.done(ctx)
	inv.log.Info().Int("promotions", len(plan.Promotions)).Bool("refused", plan.Refused()).Int("messages", len(msgs)).Msg("diff posted")
	return nil
}

// plan reads the pipeline's two environments from Kosli and plans.
func (h *Handler) plan(ctx context.Context, p *config.Pipeline, services []string) (*release.Plan, error) {
	kctx, cancel := context.WithTimeout(ctx, h.d.KosliTimeout)
	defer cancel()
	d, err := h.d.Kosli.Diff(kctx, p.From, p.To)
	if err != nil {
		return nil, &kosliError{err: err, from: p.From, to: p.To}
	}
	plan := release.Compute(&d, release.PlanOptions{Links: h.d.Links, Services: services, Now: h.d.Now()})
	return &plan, nil
}

func commandLabel(text string) string {
	req, err := Parse(text)
	if err != nil {
		return "invalid"
	}
	return string(req.Verb)
}

// ephemeral answers the person who typed the command, replacing "Working on it…" if shown.
func (h *Handler) ephemeral(ctx context.Context, inv *invocation, text string) {
	msg := &slack.WebhookMessage{ResponseType: slack.ResponseTypeEphemeral, Text: text}
	if inv.working != nil && inv.working.wasShown() {
		msg.ReplaceOriginal = true
	}
	if err := h.d.Slack.Respond(ctx, inv.cmd.ResponseURL, msg); err != nil {
		inv.log.Error().Err(err).Msg("could not answer the person")
	}
}

// workingNotice shows "Working on it…" when a command takes longer than a
// moment, and takes it away when the answer is posted elsewhere.
type workingNotice struct {
	h     *Handler
	inv   *invocation
	timer *time.Timer
	mu    sync.Mutex
	shown bool
	over  bool
	wg    sync.WaitGroup
}

func (h *Handler) startWorking(ctx context.Context, inv *invocation) *workingNotice {
	w := &workingNotice{h: h, inv: inv}
	after := time.Duration(h.d.Config.Settings.WorkingAfter)
	if after <= 0 {
		after = time.Second
	}
	w.wg.Add(1)
	w.timer = time.AfterFunc(after, func() {
		defer w.wg.Done()
		w.mu.Lock()
		over := w.over
		w.mu.Unlock()
		if over {
			return
		}
		// Not under w.mu: stop waits for this function (w.wg), not the lock.
		err := h.d.Slack.Respond(ctx, inv.cmd.ResponseURL, &slack.WebhookMessage{
			ResponseType: slack.ResponseTypeEphemeral, Text: ":hourglass_flowing_sand: Working on it…",
		})
		if err != nil {
			inv.log.Warn().Err(err).Msg("could not show working notice")
			return
		}
		w.mu.Lock()
		w.shown = true
		w.mu.Unlock()
	})
	return w
}

// stop ends the timer; after it the notice is either shown or never will be.
func (w *workingNotice) stop() {
	if w == nil {
		return
	}
	if w.timer.Stop() {
		w.wg.Done()
	}
	w.mu.Lock()
	w.over = true
	w.mu.Unlock()
	w.wg.Wait()
}

func (w *workingNotice) wasShown() bool {
	if w == nil {
		return false
	}
	w.stop()
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.shown
}

// done removes the notice once the answer is in the channel.
func (w *workingNotice) done(ctx context.Context) {
	if w == nil {
		return
	}
	if !w.wasShown() {
		return
	}
	if err := w.h.d.Slack.Respond(ctx, w.inv.cmd.ResponseURL, &slack.WebhookMessage{DeleteOriginal: true}); err != nil {
		w.inv.log.Warn().Err(err).Msg("could not remove working notice")
	}
	w.mu.Lock()
	w.shown = false
	w.mu.Unlock()
}
