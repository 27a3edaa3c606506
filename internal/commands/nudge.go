package commands

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/slack-go/slack"

	"github.com/release-bot/release-bot/internal/config"
	"github.com/release-bot/release-bot/internal/release"
)

// Nudges tell a release's approvers that it waits for them: when it is
// proposed (approvals.notify: a DM each, or one line in the thread), once
// more after approvals.remind_after (in the thread, and by DM to those who
// have not decided), and after approvals.escalate_after by pinging
// approvals.escalate_to in the thread. Each goes out at most once per
// release, whichever replica sends it and across restarts: the sender
// first takes a marker in Redis (SET NX), then reads the release again and
// sends only while it still waits for approval. A replica that dies after
// taking the marker loses that nudge: once at most, never twice.
//
// The DMs of a proposal are sent off the proposer's path: propose queues the
// release for NudgeLoop once its message is posted, and the sweep sends
// whatever the queue did not (a full queue, a replica that went away).

// nudgeKind names one nudge of a release.
type nudgeKind string

const (
	nudgeProposed nudgeKind = "proposed"
	nudgeRemind   nudgeKind = "remind"
	nudgeEscalate nudgeKind = "escalate"
)

// nudgeQueue bounds the proposals waiting for their DMs; past it the
// sweep sends them.
const nudgeQueue = 64

// maxSummaryServices is how many services a proposal's DM names.
const maxSummaryServices = 10

// queueNudge hands a just-posted release to NudgeLoop, never waiting.
func (h *Handler) queueNudge(r *release.Release, p *config.Pipeline, log zerolog.Logger) {
	if p.Approvals.Notify == config.NotifyNone || r.State != release.Proposed {
		return
	}
	select {
	case h.nudges <- r.ID:
	default:
		log.Warn().Str("release_id", r.ID).Msg("the nudge queue is full: the sweep will tell the approvers")
	}
}

// NudgeLoop tells the approvers of each release propose queues, until ctx
// ends; what is left in the queue then is sent by a sweep.
func (h *Handler) NudgeLoop(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case id := <-h.nudges:
			r, p, text := h.releaseAndPipeline(ctx, id)
			if text != "" {
				h.d.Logger.Warn().Str("release_id", id).Msg("a queued nudge's release cannot be read: the sweep will tell the approvers")
				continue
			}
			h.nudge(ctx, r, p, nudgeProposed)
		}
	}
}

// sweepNudges sends r's nudges that are due and not sent yet; r waits for
// approval and its message is posted.
func (h *Handler) sweepNudges(ctx context.Context, r *release.Release, p *config.Pipeline, now time.Time) {
	if r.MessageTS == "" {
		return // propose has not recorded its message yet
	}
	a := p.Approvals
	if a.Notify != config.NotifyNone {
		h.nudge(ctx, r, p, nudgeProposed)
	}
	waited := now.Sub(r.CreatedAt)
	if a.RemindAfter > 0 && waited >= a.RemindAfter.Duration() {
		h.nudge(ctx, r, p, nudgeRemind)
	}
	if a.EscalateAfter > 0 && waited >= a.EscalateAfter.Duration() {
		h.nudge(ctx, r, p, nudgeEscalate)
	}
}

// nudge sends one nudge of r unless it was sent (or is being sent)
// already, or r no longer waits for approval once the marker is taken.
func (h *Handler) nudge(ctx context.Context, r *release.Release, p *config.Pipeline, kind nudgeKind) {
	log := h.d.Logger.With().Str("release_id", r.ID).Str("nudge", string(kind)).Logger()
	// The marker outlives any release's wait for approval.
	ttl := p.Approvals.ExpireAfter.Duration() + 24*time.Hour
	first, err := h.d.Releases.Once(ctx, "nudge:"+string(kind)+":"+r.ID, ttl)
	if err != nil {
		log.Warn().Err(err).Msg("could not take a nudge's marker: the next sweep tries again")
		return
	}
	if !first {
		log.Debug().Msg("the nudge was sent already")
		return
	}
	// Read after the marker: a release decided or cancelled a moment ago
	// is told nothing more.
	r, err = h.d.Releases.Get(ctx, r.ID)
	if err != nil {
		log.Error().Err(err).Msg("could not read the release to nudge its approvers: the nudge is lost")
		return
	}
	// A release that needs no approval (break-glass, required 0) ships at once.
	if r.State != release.Proposed || r.Expired(h.d.Now()) || r.MessageTS == "" || r.Required == 0 {
		log.Info().Str("state", string(r.State)).Msg("the release no longer waits for approval: nudge not sent")
		return
	}
	switch kind {
	case nudgeProposed:
		h.notifyProposed(ctx, r, p, log)
	case nudgeRemind:
		h.remind(ctx, r, p, log)
	case nudgeEscalate:
		h.escalate(ctx, r, p, log)
	}
}

// notifyProposed tells the approvers of a new release: a DM each with its
// summary and a link to its message (no buttons: the message's are the
// only ones, so the two cannot disagree), or one line in its thread.
func (h *Handler) notifyProposed(ctx context.Context, r *release.Release, p *config.Pipeline, log zerolog.Logger) {
	if p.Approvals.Notify == config.NotifyChannel {
		_, _, who := h.resolve(ctx, p.Approvals.Approvers)
		who = slices.DeleteFunc(who, func(m string) bool { return m == "<@"+r.Proposer+">" })
		h.reply(ctx, r, fmt.Sprintf(":bell: %s: this release waits for %s.", strings.Join(who, " "), approvalsWord(r.Required)))
		log.Info().Msg("approvers mentioned in the thread")
		return
	}
	text := fmt.Sprintf(":inbox_tray: <@%s> proposed release `%s` of `%s` for your approval: %s%s %s",
		r.Proposer, r.ID, r.Pipeline, h.summary(ctx, r), gateNote(r), h.openLink(ctx, r, "Open it", log)+" to approve or reject it.")
	h.directMessages(ctx, r, p, h.undecided(ctx, r, p), text, log)
}

// remind tells those who have not decided, once, in the thread and by DM.
func (h *Handler) remind(ctx context.Context, r *release.Release, p *config.Pipeline, log zerolog.Logger) {
	users := h.undecided(ctx, r, p)
	mentions := make([]string, len(users))
	for i, u := range users {
		mentions[i] = "<@" + u + ">"
	}
	if len(mentions) == 0 {
		// Nobody known by id (the groups could not be read): name the approvers as configured.
		_, _, mentions = h.resolve(ctx, p.Approvals.Approvers)
	}
	waited := release.HumanDuration(p.Approvals.RemindAfter.Duration())
	h.reply(ctx, r, fmt.Sprintf(":bell: Reminder: this release has waited %s with %d of %d approvals. %s: approve or reject it above.",
		waited, len(r.Approvals), r.Required, strings.Join(mentions, " ")))
	log.Info().Int("undecided", len(users)).Msg("reminder posted in the thread")
	if p.Approvals.Notify != config.NotifyDM {
		return
	}
	text := fmt.Sprintf(":bell: Reminder: release `%s` of `%s` has waited %s for approval (%d of %d). %s",
		r.ID, r.Pipeline, waited, len(r.Approvals), r.Required, h.openLink(ctx, r, "Open it", log)+" to approve or reject it.")
	h.directMessages(ctx, r, p, users, text, log)
}

// escalate pings escalate_to in the thread, once.
func (h *Handler) escalate(ctx context.Context, r *release.Release, p *config.Pipeline, log zerolog.Logger) {
	_, _, who := h.resolve(ctx, p.Approvals.EscalateTo)
	h.reply(ctx, r, fmt.Sprintf(":rotating_light: Escalation: this release has waited %s with %d of %d approvals. %s: it needs an approver.",
		release.HumanDuration(p.Approvals.EscalateAfter.Duration()), len(r.Approvals), r.Required, strings.Join(who, " ")))
	log.Info().Msg("escalated in the thread")
}

// undecided are the users who may approve r and have not: the approvers
// named by id and the members of the approver groups, in the order
// configured, each once, without the proposer and those who approved.
// Members of a group are known only when the groups can be read.
func (h *Handler) undecided(ctx context.Context, r *release.Release, p *config.Pipeline) []string {
	var members map[string][]string
	var out []string
	seen := map[string]bool{r.Proposer: true}
	for _, a := range r.Approvals {
		seen[a.UserID] = true
	}
	add := func(id string) {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	for _, a := range p.Approvals.Approvers {
		if a.UserID != "" {
			add(a.UserID)
			continue
		}
		if members == nil {
			members = h.groupMembers(ctx)
		}
		for _, id := range members[a.Handle] {
			add(id)
		}
	}
	return out
}

// groupMembers maps user group handles to their members; empty when the
// groups cannot be read (logged by the caller's lookups as for approvals).
func (h *Handler) groupMembers(ctx context.Context) map[string][]string {
	out := map[string][]string{}
	if h.d.People == nil {
		return out
	}
	groups, err := h.d.People.UserGroups(ctx)
	if err != nil {
		h.d.Logger.Warn().Err(err).Msg("user groups could not be read; only approvers named by user id are sent direct messages")
		return out
	}
	for _, g := range groups {
		out[g.Handle] = g.Users
	}
	return out
}

// directMessages sends text to each of users who has not muted the
// pipeline, one after the other (Slack paces them); a user who cannot be
// reached is logged and the others still are. When the mutes cannot be
// read nobody is sent a DM: a mute is kept even then.
func (h *Handler) directMessages(ctx context.Context, r *release.Release, p *config.Pipeline, users []string, text string, log zerolog.Logger) {
	if h.d.DMs == nil || h.d.Mutes == nil || len(users) == 0 {
		return
	}
	muted, err := h.d.Mutes.Muted(ctx, p.Name)
	if err != nil {
		log.Error().Err(err).Msg("could not read who muted the pipeline: no direct messages sent")
		return
	}
	sent, skipped := 0, 0
	for _, u := range users {
		if muted[u] {
			skipped++
			continue
		}
		dm, err := h.d.DMs.OpenDM(ctx, u)
		if err != nil {
			log.Warn().Err(err).Str("user", u).Msg("could not open a direct message")
			continue
		}
		if _, err := h.d.Slack.PostMessage(ctx, dm, "", truncate(text, maxSectionText), []slack.Block{section(text)}); err != nil {
			log.Warn().Err(err).Str("user", u).Msg("could not send a direct message")
			continue
		}
		sent++
	}
	log.Info().Int("sent", sent).Int("muted", skipped).Int("failed", len(users)-sent-skipped).Msg("direct messages sent")
}

// openLink links r's message (chat.getPermalink); when Slack cannot say,
// it names the channel instead.
func (h *Handler) openLink(ctx context.Context, r *release.Release, label string, log zerolog.Logger) string {
	if h.d.DMs != nil {
		url, err := h.d.DMs.Permalink(ctx, r.Channel, r.MessageTS)
		if err == nil {
			return link(url, label)
		}
		log.Warn().Err(err).Msg("no permalink to the release's message: the DM names its channel")
	}
	return fmt.Sprintf("%s in <#%s>", label, r.Channel)
}

// summary names what r ships: its artifacts' services, the first
// maxSummaryServices of them.
func (h *Handler) summary(ctx context.Context, r *release.Release) string {
	data, err := h.d.Releases.Manifest(ctx, r.ID)
	if err != nil {
		return "its manifest could not be read."
	}
	m, err := release.ParseManifest(data)
	if err != nil {
		return "its manifest could not be read."
	}
	var names []string
	for _, a := range m.Artifacts {
		if len(names) == maxSummaryServices {
			names = append(names, fmt.Sprintf("and %d more", len(m.Artifacts)-maxSummaryServices))
			break
		}
		names = append(names, "`"+esc(a.Service)+"`")
	}
	what := fmt.Sprintf("%d artifact(s): %s.", len(m.Artifacts), strings.Join(names, ", "))
	if m.RollbackOf != "" {
		what = "a rollback of `" + m.RollbackOf + "`, " + what
	}
	if r.BreakGlass != nil {
		what = "*break-glass* (" + escCut(r.BreakGlass.Reason, 200) + "), " + what
	}
	return what
}

// gateNote says when the SDLC gate did not pass.
func gateNote(r *release.Release) string {
	if r.Gate != nil && !r.Gate.Passed {
		return " The SDLC gate did not pass (" + r.Gate.Mode + ")."
	}
	return ""
}

func approvalsWord(n int) string {
	if n == 1 {
		return "1 approval"
	}
	return fmt.Sprintf("%d approvals", n)
}

// mute stops (on) or restarts the person's direct messages about p's releases.
func (h *Handler) mute(ctx context.Context, inv *invocation, p *config.Pipeline, on bool) error {
	if h.d.Mutes == nil {
		return fmt.Errorf("%w: /release mute", errNotHere)
	}
	user := inv.cmd.UserID
	var (
		changed bool
		err     error
		text    string
	)
	if on {
		changed, err = h.d.Mutes.Mute(ctx, p.Name, user)
		text = fmt.Sprintf(":no_bell: You will get no direct messages about releases of `%s`; a reminder in the release's thread still mentions you. `/release unmute %s` turns them back on.", p.Name, p.Name)
		if !changed {
			text = fmt.Sprintf("You had already muted `%s`. `/release unmute %s` turns its direct messages back on.", p.Name, p.Name)
		}
	} else {
		changed, err = h.d.Mutes.Unmute(ctx, p.Name, user)
		text = fmt.Sprintf(":bell: You will get direct messages about releases of `%s` again. `/release mute %s` stops them.", p.Name, p.Name)
		if !changed {
			text = fmt.Sprintf("You had not muted `%s`: you get its direct messages.", p.Name)
		}
	}
	if err != nil {
		return err
	}
	inv.log.Info().Bool("muted", on).Bool("changed", changed).Msg("mute")
	h.ephemeral(ctx, inv, text)
	return nil
}
