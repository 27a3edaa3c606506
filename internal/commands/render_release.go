package commands

import (
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/release-bot/release-bot/internal/release"
)

// Action ids of the release message's buttons. Their value carries only the
// release id and the manifest digest: who clicked comes from the payload.
const (
	ActionApprove = "release_approve"
	ActionReject  = "release_reject"
	// ActionPropose is the drift report's "Propose release" button; its value is the pipeline.
	ActionPropose = "release_propose"
	// CallbackReject is the reject dialog's callback id.
	CallbackReject = "release_reject_reason"
)

// ReleaseView is what the release's parent message shows.
type ReleaseView struct {
	Release  *release.Release
	Manifest *release.Manifest
	// Rule describes who may approve, e.g. "2 approvals from @release-managers or <@U…>".
	Rule string
	// SelfApproval is the pipeline's allow_self_approval.
	SelfApproval bool
	Now          time.Time
}

var stateEmoji = map[release.State]string{
	release.Proposed: ":hourglass:", release.Approved: ":white_check_mark:", release.Dispatching: ":rocket:",
	release.Deploying: ":rocket:", release.Succeeded: ":tada:", release.Failed: ":x:", release.PartlyFailed: ":warning:",
	release.TimedOut: ":alarm_clock:", release.Rejected: ":no_entry:", release.Cancelled: ":heavy_multiplication_x:",
	release.Expired: ":zzz:", release.Superseded: ":leftwards_arrow_with_hook:", release.Stale: ":warning:",
}

// releaseValue is a button's value: the release id and the manifest digest.
func releaseValue(r *release.Release) string { return r.ID + " " + r.ManifestDigest }

// parseReleaseValue reads a button's value; ok is false for anything else.
func parseReleaseValue(v string) (id, digest string, ok bool) {
	id, digest, found := strings.Cut(v, " ")
	if !found || !releasePattern.MatchString(id) || !strings.HasPrefix(digest, "sha256:") || len(digest) != 71 {
		return "", "", false
	}
	return id, digest, true
}

// ReleaseMessage renders the parent message of a release. Its buttons exist
// only while the release waits for approvals, and their block id changes with
// each version so a click on an old copy can be told apart.
func ReleaseMessage(v ReleaseView) Message {
	r, m := v.Release, v.Manifest
	blocks := []slack.Block{
		header(fmt.Sprintf("Release %s · %s: %s → %s", r.ID, r.Pipeline, m.Source.Environment, m.Target.Environment)),
		contextBlock(
			fmt.Sprintf("%s *%s*", stateEmoji[r.State], stateLine(r, v.Now)),
			fmt.Sprintf("proposed by <@%s>", r.Proposer),
			fmt.Sprintf("%s → %s", link(m.Source.SnapshotURL, m.Source.SnapshotID), link(m.Target.SnapshotURL, m.Target.SnapshotID)),
			fmt.Sprintf("manifest `%s`", shortDigest(r.ManifestDigest)),
		),
	}
	var lines []string
	results := gateByFingerprint(r.Gate)
	for _, a := range m.Artifacts {
		lines = append(lines, artifactLine(a, results[strings.TrimPrefix(a.Digest, "sha256:")]))
	}
	body := packLines(lines)
	const maxArtifactSections = 30
	if len(body) > maxArtifactSections {
		body = append(body[:maxArtifactSections-1], fmt.Sprintf("…and more: the manifest lists all %d artifacts.", len(m.Artifacts)))
	}
	for _, s := range body {
		blocks = append(blocks, section(s))
	}
	blocks = append(blocks, section(gateLine(r.Gate)))
	blocks = append(blocks, section(evidenceLine(r.Evidence)))
	blocks = append(blocks, section(approvalLine(v)))
	if r.Rejection != nil {
		reason := r.Rejection.Reason
		if reason == "" {
			reason = "no reason given"
		}
		blocks = append(blocks, section(fmt.Sprintf(":no_entry: Rejected by <@%s>: %s", r.Rejection.UserID, esc(reason))))
	}
	if r.Run != nil && r.Run.HTMLURL != "" {
		blocks = append(blocks, section(fmt.Sprintf(":gear: Workflow run: %s", link(r.Run.HTMLURL, runLabel(r.Run)))))
	}
	if r.State == release.Proposed {
		approve := slack.NewButtonBlockElement(ActionApprove, releaseValue(r), slack.NewTextBlockObject(slack.PlainTextType, "Approve", false, false))
		approve.Style = slack.StylePrimary
		approve.Confirm = slack.NewConfirmationBlockObject(
			slack.NewTextBlockObject(slack.PlainTextType, "Approve "+truncate(r.ID, 80)+"?", false, false),
			slack.NewTextBlockObject(slack.MarkdownType, truncate(fmt.Sprintf("You approve exactly manifest `%s`: %d artifact(s) from %s to %s.",
				shortDigest(r.ManifestDigest), len(m.Artifacts), m.Source.Environment, m.Target.Environment), 300), false, false),
			slack.NewTextBlockObject(slack.PlainTextType, "Approve", false, false),
			slack.NewTextBlockObject(slack.PlainTextType, "Cancel", false, false),
		)
		reject := slack.NewButtonBlockElement(ActionReject, releaseValue(r), slack.NewTextBlockObject(slack.PlainTextType, "Reject", false, false))
		reject.Style = slack.StyleDanger
		blocks = append(blocks, slack.NewActionBlock(fmt.Sprintf("release:%s:v%d", r.ID, r.Version), approve, reject))
	}
	return Message{Blocks: blocks, Text: truncate(fmt.Sprintf("Release %s (%s): %s, %d artifact(s) from %s to %s", r.ID, r.Pipeline,
		stateLine(r, v.Now), len(m.Artifacts), m.Source.Environment, m.Target.Environment), maxFallbackText)}
}

func stateLine(r *release.Release, now time.Time) string {
	switch r.State {
	case release.Proposed:
		return fmt.Sprintf("Waiting for approval (%d of %d)", len(r.Approvals), r.Required)
	case release.Dispatching:
		return "Approved: starting the promotion workflow"
	case release.Deploying:
		return "Deploying"
	}
	return upperFirst(r.State.Label())
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func shortDigest(d string) string {
	if len(d) > len("sha256:")+12 {
		return d[:len("sha256:")+12]
	}
	return d
}

func runLabel(r *release.Run) string {
	s := fmt.Sprintf("#%d", r.ID)
	if r.Status != "" {
		s += " " + r.Status
	}
	if r.Conclusion != "" {
		s += " (" + r.Conclusion + ")"
	}
	return s
}

func gateByFingerprint(g *release.Gate) map[string][]release.Compliance {
	out := map[string][]release.Compliance{}
	if g == nil {
		return out
	}
	for _, c := range g.Results {
		out[c.Fingerprint] = append(out[c.Fingerprint], c)
	}
	return out
}

func artifactLine(a release.ManifestArtifact, verdicts []release.Compliance) string {
	var b strings.Builder
	b.WriteString("• *" + esc(a.Service) + "*  ")
	if a.Replaces != nil {
		b.WriteString("`" + shortSHA(a.Replaces.CommitSHA) + "` → ")
	} else {
		b.WriteString(":new: new → ")
	}
	b.WriteString(link(a.Commit.URL, "`"+shortSHA(a.Commit.SHA)+"`"))
	label := "compare"
	if a.Replaces == nil || !strings.Contains(a.CompareURL, "/compare/") {
		label = "commit"
	}
	b.WriteString(" · " + link(a.CompareURL, label))
	for _, c := range verdicts {
		switch {
		case c.Compliant:
			b.WriteString(" · :white_check_mark: " + esc(c.Environment))
		case c.Unknown:
			b.WriteString(" · :x: " + esc(c.Environment) + ": not compliant: unknown to Kosli")
		default:
			why := "not compliant"
			if len(c.Failures) > 0 {
				why += ": " + strings.Join(c.Failures, "; ")
			}
			b.WriteString(" · :x: " + esc(c.Environment) + ": " + esc(why))
		}
	}
	return b.String()
}

func shortSHA(s string) string {
	if len(s) > 7 {
		return s[:7]
	}
	return s
}

func gateLine(g *release.Gate) string {
	switch {
	case g == nil:
		return ":grey_question: SDLC gate: not run"
	case g.Passed:
		return ":shield: *SDLC gate passed*: every artifact is compliant in both environments."
	case g.Mode == release.GateWarn:
		return ":warning: *SDLC gate failed* (gate: warn): approvers, look at the non-compliant artifacts before approving."
	}
	return ":no_entry: *SDLC gate failed*: a non-compliant artifact makes this release unapprovable. Fix it and propose again."
}

func evidenceLine(e *release.Evidence) string {
	switch {
	case e == nil:
		return ":grey_question: Evidence: none"
	case e.Recorded:
		return ":receipt: Evidence: " + link(e.URL, "Kosli trail "+e.Trail) + " in flow `" + esc(e.Flow) + "`"
	}
	msg := ":warning: *Evidence not recorded yet* in Kosli flow `" + esc(e.Flow) + "`; approvals wait for it and it is retried on the next click."
	if e.LastError != "" {
		msg += " Last error: " + esc(truncate(e.LastError, 300))
	}
	return msg
}

func approvalLine(v ReleaseView) string {
	r := v.Release
	var b strings.Builder
	fmt.Fprintf(&b, "*Approval*: %s", v.Rule)
	if !v.SelfApproval {
		b.WriteString("; the proposer cannot approve their own release")
	}
	if !r.ExpiresAt.IsZero() && r.State == release.Proposed {
		b.WriteString("; expires " + slackDate(r.ExpiresAt))
	}
	b.WriteString(".")
	for _, a := range r.Approvals {
		fmt.Fprintf(&b, "\n:ballot_box_with_check: Approved by <@%s> %s", a.UserID, slackDate(a.At))
	}
	return b.String()
}
