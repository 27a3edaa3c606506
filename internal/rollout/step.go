package rollout

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/release-bot/release-bot/internal/config"
	"github.com/release-bot/release-bot/internal/github"
	"github.com/release-bot/release-bot/internal/mrkdwn"
	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/retry"
	"github.com/release-bot/release-bot/internal/store"
)

// step looks at the run once. changed says something happened (so look again
// soon); done says the release reached its end. Its phases: the timeout →
// finding the run → reading it → its status → a reply per leg → the end.
func (r *Rollout) step(ctx context.Context, rel *release.Release, p *config.Pipeline, log zerolog.Logger) (changed, done bool) {
	wf := workflowOf(p)
	now := r.o.Now()
	dispatched := dispatchedAt(rel)
	if r.timedOut(ctx, rel, p, wf, now, dispatched, log) {
		return true, true
	}
	if (rel.Run == nil || rel.Run.DispatchedAt.IsZero()) && rel.Evidence.AwaitsDecision() {
		// Not dispatched yet: the dispatch waits for Kosli to record the
		// decision (commands), and its bound is the evidence timeout.
		return false, false
	}
	if rel.Run == nil || rel.Run.ID == 0 {
		return r.findRun(ctx, rel, p, wf, now, dispatched, log)
	}
	run, legs, m, ok := r.readRun(ctx, rel, wf, log)
	if !ok {
		return false, false
	}
	changed = r.recordStatus(ctx, rel, run, log)
	posted, waiting := r.replyLegs(ctx, rel, m, run, legs, log)
	changed = changed || posted
	if !run.Completed() || waiting {
		return changed, false
	}
	r.conclude(ctx, rel, p, m, run, legs, log)
	return true, true
}

// dispatchedAt is when the release's run was dispatched, or, when the
// replica that dispatched went away before stamping the time, when the
// release moved to dispatching.
func dispatchedAt(rel *release.Release) time.Time {
	dispatched := time.Time{}
	if rel.Run != nil {
		dispatched = rel.Run.DispatchedAt
	}
	if dispatched.IsZero() {
		dispatched, _ = rel.EnteredAt(release.Dispatching)
	}
	return dispatched
}

// timedOut ends the release, cancelling its run, when the run has taken
// longer than the pipeline's timeout.
func (r *Rollout) timedOut(ctx context.Context, rel *release.Release, p *config.Pipeline, wf github.Workflow, now, dispatched time.Time, log zerolog.Logger) bool {
	timeout := p.Workflow.Timeout.Duration()
	if timeout <= 0 || dispatched.IsZero() || now.Sub(dispatched) <= timeout {
		return false
	}
	if rel.Run != nil && rel.Run.ID != 0 {
		if err := r.o.Runs.CancelRun(ctx, wf, rel.Run.ID); err != nil {
			log.Warn().Err(err).Msg("cancelling the timed-out run")
		}
	}
	to := release.TimedOut
	if rel.State == release.Dispatching {
		to = release.Failed // no run ever started: timed out is a deploy's ending
	}
	r.finish(ctx, rel, to, "run exceeded the pipeline's timeout",
		fmt.Sprintf(":alarm_clock: The workflow run took longer than %s, the pipeline's timeout: I cancelled it and ended the release as timed out.", p.Workflow.Timeout))
	return true
}

// findRun looks for the run GitHub did not name when it was dispatched;
// when none shows within FindWithin, noRun decides what follows.
func (r *Rollout) findRun(ctx context.Context, rel *release.Release, p *config.Pipeline, wf github.Workflow, now, dispatched time.Time, log zerolog.Logger) (changed, done bool) {
	run, found, err := r.o.Runs.FindRun(ctx, wf, rel.ID, dispatched)
	if err != nil {
		log.Warn().Err(err).Msg("looking for the run")
		return false, false
	}
	if found {
		r.started(ctx, rel, run)
		return true, false
	}
	if !dispatched.IsZero() && now.Sub(dispatched) > r.o.FindWithin {
		return r.noRun(ctx, rel, p, dispatched, log)
	}
	return false, false
}

// readRun reads the run, its jobs matched to the manifest's services, and
// the manifest; ok is false (and logged) when one of them cannot be read.
func (r *Rollout) readRun(ctx context.Context, rel *release.Release, wf github.Workflow, log zerolog.Logger) (run github.Run, legs map[string]github.Job, m *release.Manifest, ok bool) {
	run, err := r.o.Runs.GetRun(ctx, wf, rel.Run.ID)
	if err != nil {
		log.Warn().Err(err).Msg("reading the run")
		return run, nil, nil, false
	}
	jobs, err := r.o.Runs.Jobs(ctx, wf, rel.Run.ID)
	if err != nil {
		log.Warn().Err(err).Msg("reading the run's jobs")
		return run, nil, nil, false
	}
	m, err = r.manifest(ctx, rel.ID)
	if err != nil {
		log.Error().Err(err).Msg("reading the manifest")
		return run, nil, nil, false
	}
	services := make([]string, len(m.Artifacts))
	for i, a := range m.Artifacts {
		services[i] = a.Service
	}
	legs, _ = github.MatchLegs(jobs, services)
	return run, legs, m, true
}

// recordStatus records a change of the run's status or conclusion and
// refreshes the message; a run waiting for a reviewer is said once.
func (r *Rollout) recordStatus(ctx context.Context, rel *release.Release, run github.Run, log zerolog.Logger) (changed bool) {
	if run.Status == rel.Run.Status && run.Conclusion == rel.Run.Conclusion {
		return false
	}
	if _, err := r.o.Releases.Amend(ctx, rel.ID, 0, func(x *release.Release) {
		if x.Run != nil {
			x.Run.Status, x.Run.Conclusion = run.Status, run.Conclusion
		}
	}); err == nil {
		r.o.Thread.Refresh(ctx, rel.ID)
	}
	if run.Status == github.StatusWaiting {
		r.replyOnce(ctx, rel, "waiting:"+rel.ID, fmt.Sprintf(":pause_button: The run is waiting for a reviewer to approve a GitHub environment: <%s|review it in GitHub>.", run.HTMLURL), log)
	}
	return true
}

// replyLegs gives every artifact one reply: when its leg ends, or when the
// run ends without a leg for it. The run is concluded only once each one is
// in the thread: a reply another replica claimed is waited for (its claim
// lapses if that replica died posting it).
func (r *Rollout) replyLegs(ctx context.Context, rel *release.Release, m *release.Manifest, run github.Run, legs map[string]github.Job, log zerolog.Logger) (posted, waiting bool) {
	for _, a := range m.Artifacts {
		job, ok := legs[a.Service]
		var text string
		switch {
		case ok && job.Completed():
			text = legLine(a, job)
		case !ok && run.Completed():
			text = fmt.Sprintf(":x: *%s*: no deploy job of the run named it, so it was not deployed.", mrkdwn.Escape(a.Service))
		default:
			continue
		}
		p, settled := r.replyOnce(ctx, rel, "leg:"+rel.ID+":"+a.Service, text, log)
		posted = posted || p
		waiting = waiting || !settled
	}
	return posted, waiting
}

func (r *Rollout) manifest(ctx context.Context, id string) (*release.Manifest, error) {
	data, err := r.o.Releases.Manifest(ctx, id)
	if err != nil {
		return nil, err
	}
	return release.ParseManifest(data)
}

// legLine is the one reply an artifact gets when its deploy leg ends.
func legLine(a release.ManifestArtifact, job github.Job) string {
	from := ":new: new"
	if a.Replaces != nil {
		from = "`" + short(a.Replaces.CommitSHA) + "`"
	}
	took := ""
	if !job.StartedAt.IsZero() && job.CompletedAt.After(job.StartedAt) {
		took = " in " + release.HumanDuration(job.CompletedAt.Sub(job.StartedAt))
	}
	mark, verb := ":white_check_mark:", "deployed"
	switch job.Conclusion {
	case github.ConclusionSuccess:
	case "cancelled":
		mark, verb = ":heavy_multiplication_x:", "cancelled"
	case "skipped":
		mark, verb = ":fast_forward:", "skipped"
	default:
		mark, verb = ":x:", "failed ("+job.Conclusion+")"
	}
	return fmt.Sprintf("%s *%s* %s → `%s`: %s%s · <%s|job>", mark, mrkdwn.Escape(a.Service), from, short(a.Commit.SHA), mrkdwn.Escape(verb), took, job.HTMLURL)
}

func short(s string) string {
	if len(s) > 7 {
		return s[:7]
	}
	return s
}

// conclude ends the release from its run's outcome, verifying a success in Kosli.
func (r *Rollout) conclude(ctx context.Context, rel *release.Release, p *config.Pipeline, m *release.Manifest, run github.Run, legs map[string]github.Job, log zerolog.Logger) {
	var ok, failed []string
	for _, a := range m.Artifacts {
		if job, found := legs[a.Service]; found && job.Conclusion == github.ConclusionSuccess {
			ok = append(ok, a.Service)
		} else {
			failed = append(failed, a.Service)
		}
	}
	if run.Conclusion == "cancelled" && len(ok) == 0 {
		r.finish(ctx, rel, release.Cancelled, "the workflow run was cancelled", fmt.Sprintf(":heavy_multiplication_x: The workflow run <%s|#%d> was cancelled; nothing was deployed.", run.HTMLURL, run.ID))
		return
	}
	deployment := r.outcome("deployment", len(failed) == 0, map[string]any{"run": run.HTMLURL, "deployed": ok, "failed": failed})
	switch {
	case len(failed) == 0:
		verified, verification := r.verify(ctx, rel, p, m, log)
		r.finish(ctx, rel, release.Succeeded, "all artifacts deployed",
			fmt.Sprintf(":tada: *Release succeeded*: %d of %d artifacts deployed to %s. %s", len(ok), len(m.Artifacts), p.To, verified), deployment, verification)
	case len(ok) == 0:
		r.finish(ctx, rel, release.Failed, "no artifact deployed",
			fmt.Sprintf(":x: *Release failed*: none of the %d artifacts was deployed (<%s|run #%d>).", len(m.Artifacts), run.HTMLURL, run.ID), deployment)
	default:
		r.finish(ctx, rel, release.PartlyFailed, "some artifacts failed",
			fmt.Sprintf(":warning: *Release partly failed* (<%s|run #%d>): %d of %d deployed; failed: %s.", run.HTMLURL, run.ID, len(ok), len(m.Artifacts), mrkdwn.List(failed, maxListed)), deployment)
	}
}

// verify waits, within the pipeline's bound, for Kosli to see every shipped
// fingerprint running in the target, and says what it found, with the
// evidence of it.
func (r *Rollout) verify(ctx context.Context, rel *release.Release, p *config.Pipeline, m *release.Manifest, log zerolog.Logger) (string, release.EvidenceItem) {
	if r.o.Kosli == nil {
		return "", release.EvidenceItem{}
	}
	deadline := r.o.Now().Add(p.Verify.Timeout.Duration())
	var missing []string
	var snapshot string
	for {
		if _, err := r.o.Releases.RenewLease(ctx, leaseName(rel.ID), r.o.Owner, r.o.LeaseTTL); err != nil {
			log.Warn().Err(err).Msg("renewing the lease while verifying")
		}
		running, err := r.o.Kosli.Running(ctx, p.To)
		if err != nil {
			log.Warn().Err(err).Msg("reading the target for the verify step")
		} else {
			snapshot = running.SnapshotID
			have := map[string]bool{}
			for _, fp := range running.Fingerprints {
				have[fp] = true
			}
			missing = missing[:0]
			for _, a := range m.Artifacts {
				if !have[strings.TrimPrefix(a.Digest, "sha256:")] {
					missing = append(missing, a.Service)
				}
			}
			if len(missing) == 0 {
				return fmt.Sprintf(":white_check_mark: Verified in %s: it runs every artifact of the manifest.", snapshot),
					r.outcome("verification", true, map[string]any{"snapshot": snapshot})
			}
		}
		if !r.o.Now().Add(r.o.VerifyPoll).Before(deadline) || retry.Sleep(ctx, r.o.VerifyPoll) != nil {
			break
		}
	}
	verification := r.outcome("verification", false, map[string]any{"snapshot": snapshot, "missing": missing})
	if len(missing) == 0 {
		return fmt.Sprintf(":warning: Not verified: Kosli could not be read within %s.", p.Verify.Timeout), verification
	}
	where := p.To
	if snapshot != "" {
		where = snapshot
	}
	return fmt.Sprintf(":warning: Not verified within %s: %s does not run %s yet.", p.Verify.Timeout, mrkdwn.Escape(where), mrkdwn.List(missing, maxListed)), verification
}

// finish moves the release to its end and says so in the thread; the
// outcomes' evidence goes in its outbox with the move.
func (r *Rollout) finish(ctx context.Context, rel *release.Release, to release.State, note, text string, outcomes ...release.EvidenceItem) {
	next, err := r.o.Releases.Transition(ctx, rel.ID, to, store.TransitionOpts{Note: note, Update: func(x *release.Release) {
		for _, it := range outcomes {
			if it.ID != "" {
				x.AddEvidence(it)
			}
		}
	}})
	if err != nil {
		if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrInvalidMove) {
			r.o.Logger.Info().Err(err).Str("release_id", rel.ID).Msg("release already moved on")
			return
		}
		r.o.Logger.Error().Err(err).Str("release_id", rel.ID).Msg("ending the release")
		return
	}
	r.o.Logger.Info().Str("release_id", rel.ID).Str("state", string(to)).Msg("release ended")
	r.mu.Lock()
	delete(r.posted, rel.ID)
	r.mu.Unlock()
	r.o.Thread.Refresh(ctx, next.ID)
	r.o.Thread.Reply(ctx, next, text)
}

// outcome is the evidence of how the deploy went, a generic attestation on
// the release's trail.
func (r *Rollout) outcome(name string, compliant bool, data map[string]any) release.EvidenceItem {
	return release.EvidenceItem{ID: name, Kind: release.EvidenceOutcome, Name: name, Compliant: compliant, Data: data, CreatedAt: r.o.Now().UTC()}
}

// maxListed is how many names a thread reply lists before it counts the
// rest: 200 service names would pass Slack's 3,000-character section.
const maxListed = 20

// dispatchProblem says in one line why GitHub refused a dispatch.
func dispatchProblem(err error) string {
	var api *github.APIError
	switch {
	case errors.Is(err, github.ErrUnauthorized):
		return "the GitHub credentials were rejected (GITHUB_TOKEN or the GitHub App)"
	case errors.Is(err, github.ErrForbidden):
		return "the GitHub credentials lack permission to run Actions on this repository"
	case errors.Is(err, github.ErrNotFound):
		return "GitHub found no such repository or workflow"
	case errors.As(err, &api):
		return fmt.Sprintf("HTTP %d: %s", api.Status, mrkdwn.Truncate(mrkdwn.Escape(api.Message), 300))
	}
	return "GitHub could not be reached"
}
