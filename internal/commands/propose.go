package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/release-bot/release-bot/internal/config"
	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/store"
)

// refusalError is an answer to the person that is not a failure of the bot:
// a blocker, nothing to promote, an open release, a release too large.
type refusalError struct{ text string }

func (e *refusalError) Error() string { return e.text }

// propose freezes the pipeline's plan into a release, runs the gate, records
// the evidence and posts the release with its buttons, in phases: plan →
// manifest → gate → create (which takes the pipeline's lock) → post →
// evidence.
func (h *Handler) propose(ctx context.Context, inv *invocation, p *config.Pipeline, services []string, breakGlass, ticket string) error {
	ct, err := changeTicket(p, ticket)
	if err != nil {
		return err
	}
	plan, err := h.proposablePlan(ctx, p, services)
	if err != nil {
		return err
	}
	// A break-glass release is for an emergency: it does not wait for a soak.
	if breakGlass == "" {
		if err := refuseSoaking(plan, p, h.d.Now()); err != nil {
			return err
		}
	}
	return h.proposePlan(ctx, inv, p, proposal{plan: plan, breakGlass: breakGlass, ticket: ct})
}

// changeTicket checks a propose's or a rollback's change ticket against the
// pipeline's change_ticket: nil for none, a refusal naming the pattern for
// one missing where required or malformed.
func changeTicket(p *config.Pipeline, ticket string) (*release.ChangeTicket, error) {
	if err := p.ChangeTicket.Check(ticket); err != nil {
		return nil, &refusalError{":no_entry: No release: " + esc(err.Error()) + "."}
	}
	if ticket == "" {
		return nil, nil
	}
	return &release.ChangeTicket{ID: ticket, URL: p.ChangeTicket.Link(ticket)}, nil
}

// proposal is a plan to become a release: a promotion from the pipeline's
// source, or a rollback.
type proposal struct {
	plan *release.Plan
	// rollback is set for a rollback: what it rolls back.
	rollback *release.Rollback
	// breakGlass is the reason of a break-glass release, "" for any other.
	breakGlass string
	// ticket is the change ticket, nil for none.
	ticket *release.ChangeTicket
}

// proposePlan turns a proposable plan into a release: manifest → gate →
// create (which takes the pipeline's lock) → post → evidence.
func (h *Handler) proposePlan(ctx context.Context, inv *invocation, p *config.Pipeline, pr proposal) error {
	plan := pr.plan
	now := h.d.Now().UTC()
	id, err := h.d.Releases.NextID(ctx, p.Name, now)
	if err != nil {
		return err
	}
	d, err := h.draftManifest(ctx, inv, p, pr, id, now)
	if err != nil {
		return err
	}
	gate, err := h.runGate(ctx, p, d.m)
	if err != nil {
		return err
	}
	if pr.rollback != nil {
		if err := refuseUnknown(pr.rollback, d.m, gate); err != nil {
			return err
		}
	}
	r, rule, err := h.createRelease(ctx, inv, p, plan, d, gate, now)
	if err != nil {
		return err
	}
	inv.log.Info().Str("release_id", r.ID).Str("digest", r.ManifestDigest).Int("artifacts", len(d.m.Artifacts)).Bool("gate_passed", gate.Passed).
		Bool("break_glass", r.BreakGlass != nil).Msg("release proposed")
	if err := h.postRelease(ctx, inv, ReleaseView{Release: r, Manifest: d.m, Rule: rule, SelfApproval: p.Approvals.AllowSelfApproval, Now: now}); err != nil {
		return err
	}
	if r.BreakGlass != nil {
		h.brokeGlass(ctx, r.ID, p)
	}
	return nil
}

// proposablePlan is the pipeline's plan for services, or a refusal: an open
// release, a blocked plan, a service with nothing to promote, nothing at all.
func (h *Handler) proposablePlan(ctx context.Context, p *config.Pipeline, services []string) (*release.Plan, error) {
	if err := h.refuseOpen(ctx, p); err != nil {
		return nil, err
	}
	plan, err := h.plan(ctx, p, services)
	if err != nil {
		return nil, err
	}
	if err := refuseBlocked(plan, p); err != nil {
		return nil, err
	}
	if missing := missingServices(plan, services); len(missing) > 0 {
		return nil, &refusalError{fmt.Sprintf("Nothing waits to be promoted for %s. `/release diff %s` shows what does.", esc(strings.Join(missing, ", ")), p.Name)}
	}
	if len(plan.Promotions) == 0 {
		return nil, &refusalError{fmt.Sprintf("Nothing to release: %s runs what %s runs.", p.To, p.From)}
	}
	return plan, nil
}

// refuseOpen refuses while the pipeline has an open release.
func (h *Handler) refuseOpen(ctx context.Context, p *config.Pipeline) error {
	if open, err := h.d.Releases.Active(ctx, p.Name); err != nil {
		return err
	} else if open != nil {
		return &refusalError{openReleaseText(open)}
	}
	return nil
}

// refuseBlocked refuses a plan that a blocker stops.
func refuseBlocked(plan *release.Plan, p *config.Pipeline) error {
	if !plan.Refused() {
		return nil
	}
	var reasons []string
	for _, r := range plan.Refusals() {
		reasons = append(reasons, "• "+esc(r.String()))
	}
	return &refusalError{fmt.Sprintf(":no_entry: No release: %s\n%s\n`/release diff %s` shows the whole picture.", "the plan is blocked:", strings.Join(reasons, "\n"), p.Name)}
}

// refuseSoaking refuses a plan with an artifact that has not run
// gate.min_soak in the source, naming each one's time left and when the
// release could go.
func refuseSoaking(plan *release.Plan, p *config.Pipeline, now time.Time) error {
	soaking := plan.Soaking(p.MinSoak.Duration(), now)
	if len(soaking) == 0 {
		return nil
	}
	lines := make([]string, len(soaking))
	for i, s := range soaking {
		lines[i] = "• " + esc(s.String())
	}
	when := "It can go once Kosli says when each started."
	if by := release.SoakedBy(soaking); !by.IsZero() {
		when = fmt.Sprintf("It can go %s (in %s).", slackDate(by), release.HumanDuration(by.Sub(now).Round(time.Minute)))
	}
	return &refusalError{fmt.Sprintf(":hourglass_flowing_sand: No release yet: every artifact must run %s in %s first (gate.min_soak).\n%s\n%s",
		release.HumanDuration(p.MinSoak.Duration()), esc(p.From), strings.Join(lines, "\n"), when)}
}

// draft is a release's manifest before the release is stored: sealed and
// marshalled, with its evidence and the workflow's inputs.
type draft struct {
	m        *release.Manifest
	manifest []byte
	ev       release.Evidence
	det      release.Details
}

// draftManifest seals the plan into release id's manifest and the
// workflow's inputs; a plan that cannot become either is a refusal.
func (h *Handler) draftManifest(ctx context.Context, inv *invocation, p *config.Pipeline, pr proposal, id string, now time.Time) (*draft, error) {
	plan := pr.plan
	proposerName := inv.cmd.UserName
	if h.d.People != nil {
		if u, err := h.d.People.User(ctx, inv.cmd.UserID); err == nil && u.RealName != "" {
			proposerName = u.RealName
		}
	}
	d := &draft{ev: release.Evidence{Flow: p.Evidence.Flow, Trail: id, URL: h.d.Links.Trail(p.Evidence.Flow, id), Control: p.Evidence.Control}}
	meta := release.ManifestMeta{
		ReleaseID: id, Pipeline: p.Name, CreatedAt: now, ProposerID: inv.cmd.UserID, ProposerName: proposerName, Evidence: d.ev,
	}
	if pr.rollback != nil {
		meta.RollbackOf = pr.rollback.Of
	}
	if pr.breakGlass != "" {
		meta.BreakGlass = &release.ManifestBreakGlass{Reason: pr.breakGlass, RequestedBy: inv.cmd.UserID, ReviewDue: now.Add(p.BreakGlass.ReviewWithin.Duration())}
	}
	meta.ChangeTicket = pr.ticket
	m, err := release.NewManifest(plan, meta)
	if err != nil {
		return nil, &refusalError{fmt.Sprintf(":no_entry: This plan cannot become a release: %s", esc(err.Error()))}
	}
	d.m = m
	if p.Workflow != nil {
		d.det.Inputs, err = release.WorkflowInputs(m, plan, release.MatrixStyle(p.Workflow.Matrix))
		var tooLarge *release.TooLargeError
		if errors.As(err, &tooLarge) {
			return nil, &refusalError{fmt.Sprintf(":no_entry: This release is too large to dispatch: %s", esc(tooLarge.Error()))}
		} else if err != nil {
			return nil, err
		}
	}
	if d.manifest, err = m.Marshal(); err != nil {
		return nil, err
	}
	return d, nil
}

// createRelease stores the release with its manifest and its evidence in
// the outbox, which takes the pipeline's lock; it returns the approval rule
// in words. Another release holding the lock is a refusal.
func (h *Handler) createRelease(ctx context.Context, inv *invocation, p *config.Pipeline, plan *release.Plan, d *draft, gate *release.Gate, now time.Time) (*release.Release, string, error) {
	required := p.Approvals.Required
	if d.m.RollbackOf != "" && p.Approvals.RollbackRequired > 0 {
		required = p.Approvals.RollbackRequired
	}
	policy, rule := h.policyFor(ctx, p, required)
	r := &release.Release{
		ID: d.m.ReleaseID, Pipeline: p.Name, ManifestDigest: d.m.SealedDigest, Proposer: inv.cmd.UserID, CreatedAt: now,
		ExpiresAt: policy.ExpiresAt(now), Required: policy.Required, Channel: inv.cmd.ChannelID,
		Gate: gate, Evidence: &d.ev,
	}
	if bg := d.m.BreakGlass; bg != nil {
		r.Required = p.BreakGlass.Required
		r.BreakGlass = &release.BreakGlass{Reason: bg.Reason, By: bg.RequestedBy, At: now, ReviewDue: bg.ReviewDue}
		rule = breakGlassRule(r.Required, rule)
	}
	if err := r.WriteDetails(d.det); err != nil {
		return nil, "", err
	}
	// The evidence goes in the outbox with the release itself: the trail,
	// every artifact with its promotion, and the manifest.
	r.AddEvidence(release.EvidenceItem{ID: "report", Kind: release.EvidenceReport, CreatedAt: now})
	promotions := make(map[string]json.RawMessage, len(plan.Promotions))
	for i := range plan.Promotions {
		promotions[plan.Promotions[i].Service] = release.MatrixItem(&plan.Promotions[i])
	}
	if err := h.d.Releases.Create(ctx, r, d.manifest, promotions); err != nil {
		var active *store.ActiveReleaseError
		if errors.As(err, &active) {
			open, gerr := h.d.Releases.Get(ctx, active.ID)
			if gerr != nil {
				return nil, "", &refusalError{fmt.Sprintf("Pipeline `%s` already has an open release, `%s`.", p.Name, active.ID)}
			}
			return nil, "", &refusalError{openReleaseText(open)}
		}
		return nil, "", err
	}
	return r, rule, nil
}

// postRelease posts the stored release's message, then records its
// evidence. The message comes first: the evidence's ~3 requests per
// artifact are most of propose's time, and the person need not wait for
// them. The message is refreshed once the report is recorded
// (EvidenceChanged), and a delivery that fails is said in the thread.
func (h *Handler) postRelease(ctx context.Context, inv *invocation, v ReleaseView) error {
	r := v.Release
	log := inv.log.With().Str("release_id", r.ID).Logger()
	msg := ReleaseMessage(v)
	ts, err := h.d.Slack.PostMessage(ctx, inv.cmd.ChannelID, "", msg.Text, msg.Blocks)
	if err != nil {
		// A release nobody can see must not hold the pipeline's lock.
		if _, cerr := h.d.Releases.Transition(ctx, r.ID, release.Cancelled, store.TransitionOpts{Note: "its Slack message could not be posted"}); cerr != nil {
			log.Error().Err(cerr).Msg("could not cancel the unposted release")
		}
		return fmt.Errorf("posting release %s: %w", r.ID, err)
	}
	if r, err = h.d.Releases.Amend(ctx, r.ID, 0, func(x *release.Release) { x.Channel, x.MessageTS = inv.cmd.ChannelID, ts }); err != nil {
		log.Error().Err(err).Msg("could not record the release's message")
		return nil
	}
	// The outbox's worker may have recorded the report between the post and
	// the amend: it found no message to refresh then, so the message would
	// say "being recorded" until the next change.
	if r.Evidence.Item("report").Status != v.Release.Evidence.Item("report").Status {
		h.refresh(ctx, r)
	}
	// A new release is a change to the Homes of those who can act on it.
	h.homeChanged(r.ID)
	inv.working.done(ctx)
	h.reply(ctx, r, fmt.Sprintf("Proposed by <@%s>. Manifest `%s` (%d artifact(s)). `/release status %s` shows where it is.", r.Proposer, r.ManifestDigest, len(v.Manifest.Artifacts), r.ID))
	h.deliverNow(ctx, r)
	if p, ok := h.d.Config.Pipeline(r.Pipeline); ok {
		h.queueNudge(r, p, log)
	}
	return nil
}

func openReleaseText(r *release.Release) string {
	where := ""
	if r.Channel != "" {
		where = fmt.Sprintf(" in <#%s>", r.Channel)
	}
	return fmt.Sprintf("Pipeline `%s` already has an open release: `%s` (%s)%s. Finish or cancel it first (`/release cancel %s`).",
		r.Pipeline, r.ID, r.State.Label(), where, r.ID)
}

func missingServices(p *release.Plan, services []string) []string {
	var missing []string
	for _, s := range services {
		found := false
		for i := range p.Promotions {
			if p.Promotions[i].Service == s || p.Promotions[i].Incoming.Flow == s {
				found = true
				break
			}
		}
		if !found {
			missing = append(missing, s)
		}
	}
	return missing
}

// defaultGateParallel bounds the gate's questions to Kosli in flight at
// once: a release of 60 artifacts asks 120, and the person waits for all
// of them, so 64 makes it two round trips rather than fifteen.
const defaultGateParallel = 64

// runGate asks Kosli, for each incoming artifact, whether it is compliant in
// the target and in the source environment, a bounded number at a time.
func (h *Handler) runGate(ctx context.Context, p *config.Pipeline, m *release.Manifest) (*release.Gate, error) {
	gate := &release.Gate{Mode: string(p.Gate), Passed: true}
	if h.d.Gate == nil {
		return nil, nil
	}
	type check struct{ fp, env string }
	var checks []check
	// A rollback's source is the target's earlier snapshot: its artifacts
	// are asked about once, in the target.
	envs := []string{m.Target.Environment}
	if m.Source.Environment != m.Target.Environment {
		envs = append(envs, m.Source.Environment)
	}
	for _, a := range m.Artifacts {
		fp := strings.TrimPrefix(a.Digest, "sha256:")
		for _, env := range envs {
			checks = append(checks, check{fp, env})
		}
	}
	results := make([]release.Compliance, len(checks))
	g, gctx := errgroup.WithContext(ctx)
	limit := h.d.GateParallel
	if limit <= 0 {
		limit = defaultGateParallel
	}
	g.SetLimit(limit)
	for i, c := range checks {
		g.Go(func() error {
			cctx, cancel := context.WithTimeout(gctx, h.d.KosliTimeout)
			defer cancel()
			res, err := h.d.Gate.Compliance(cctx, c.fp, c.env)
			if err != nil {
				return &kosliError{err: err, from: p.From, to: p.To}
			}
			res.Fingerprint, res.Environment = c.fp, c.env
			res.MarkOwnControl(p.Evidence.Control)
			results[i] = res
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	gate.Results = results
	for _, r := range results {
		if r.Blocks() {
			gate.Passed = false
		}
	}
	return gate, nil
}

// policy is the pipeline's approval rule with its groups resolved, and the
// rule in words for the message.
func (h *Handler) policy(ctx context.Context, p *config.Pipeline) (release.Policy, string) {
	return h.policyFor(ctx, p, p.Approvals.Required)
}

// policyFor is policy with required approvals (a rollback's, or what a
// release was proposed with).
func (h *Handler) policyFor(ctx context.Context, p *config.Pipeline, required int) (release.Policy, string) {
	pol := release.Policy{
		Required: required, AllowSelfApproval: p.Approvals.AllowSelfApproval,
		ExpireAfter: p.Approvals.ExpireAfter.Duration(),
	}
	var who []string
	pol.Users, pol.Groups, who = h.resolve(ctx, p.Approvals.Approvers)
	noun := "approval"
	if pol.Required != 1 {
		noun = "approvals"
	}
	return pol, fmt.Sprintf("%d %s from %s", pol.Required, noun, strings.Join(who, " or "))
}

// resolve turns configured users and @groups into user ids, group ids, and
// mentions of each for a message.
func (h *Handler) resolve(ctx context.Context, list []config.Approver) (users map[string]bool, groups, who []string) {
	users = map[string]bool{}
	var ids map[string]string
	for _, a := range list {
		if a.UserID != "" {
			users[a.UserID] = true
			who = append(who, "<@"+a.UserID+">")
			continue
		}
		if ids == nil {
			ids = h.groupIDs(ctx)
		}
		if id, ok := ids[a.Handle]; ok {
			groups = append(groups, id)
			who = append(who, fmt.Sprintf("<!subteam^%s|@%s>", id, a.Handle))
		} else {
			who = append(who, "@"+a.Handle+" (group not found)")
		}
	}
	return users, groups, who
}

// groupIDs maps user group handles to ids; empty when groups cannot be read
// (free plans have none), which leaves only the user ids able to approve.
func (h *Handler) groupIDs(ctx context.Context) map[string]string {
	out := map[string]string{}
	if h.d.People == nil {
		return out
	}
	groups, err := h.d.People.UserGroups(ctx)
	if err != nil {
		h.d.Logger.Warn().Err(err).Msg("user groups could not be read; only approvers named by user id can approve")
		return out
	}
	for _, g := range groups {
		out[g.Handle] = g.ID
	}
	return out
}
