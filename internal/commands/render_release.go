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
	release.EvidenceFailed: ":lock:",
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
	title := fmt.Sprintf("Release %s · %s: %s → %s", r.ID, r.Pipeline, m.Source.Environment, m.Target.Environment)
	if m.RollbackOf != "" {
		title = fmt.Sprintf("Rollback %s · %s: %s back to %s", r.ID, r.Pipeline, m.Target.Environment, m.Source.SnapshotID)
	}
	about := []string{
		fmt.Sprintf("%s *%s*", stateEmoji[r.State], stateLine(r, v.Now)),
		fmt.Sprintf("proposed by <@%s>", r.Proposer),
		fmt.Sprintf("%s → %s", link(m.Source.SnapshotURL, m.Source.SnapshotID), link(m.Target.SnapshotURL, m.Target.SnapshotID)),
		fmt.Sprintf("manifest `%s`", shortDigest(r.ManifestDigest)),
	}
	if ct := m.ChangeTicket; ct != nil {
		about = append(about, ":ticket: change "+link(ct.URL, ct.ID))
	}
	blocks := []slack.Block{header(title), contextBlock(about...)}
	if r.BreakGlass != nil {
		blocks = append(blocks, section(emergencyLine(r)))
	}
	if m.RollbackOf != "" {
		blocks = append(blocks, section(fmt.Sprintf(":rewind: *Rolls back* `%s`: puts back what %s ran before it, as Kosli recorded it in %s.",
			m.RollbackOf, m.Target.Environment, link(m.Source.SnapshotURL, m.Source.SnapshotID))))
	}
	var tail []slack.Block
	tail = append(tail, section(gateLine(r.Gate)))
	tail = append(tail, section(evidenceLine(r.Evidence)))
	tail = append(tail, section(approvalLine(v)))
	if r.Rejection != nil {
		reason := r.Rejection.Reason
		if reason == "" {
			reason = "no reason given"
		}
		prefix := fmt.Sprintf(":no_entry: Rejected by <@%s>: ", r.Rejection.UserID)
		tail = append(tail, section(prefix+escCut(reason, maxSectionText-len(prefix))))
	}
	if r.Run != nil && r.Run.HTMLURL != "" {
		tail = append(tail, section(fmt.Sprintf(":gear: Workflow run: %s", link(r.Run.HTMLURL, runLabel(r.Run)))))
	}
	if r.BreakGlass != nil && (r.NeedsReview() || r.BreakGlass.Review != nil) {
		tail = append(tail, section(reviewLine(r)))
		if r.NeedsReview() {
			tail = append(tail, reviewButtons(r))
		}
	}
	if r.State == release.Proposed {
		tail = append(tail, decisionButtons(r, m, fmt.Sprintf("release:%s:v%d", r.ID, r.Version)))
	}
	used := 0
	for _, b := range append(blocks[:len(blocks):len(blocks)], tail...) {
		used += blockChars(b)
	}
	blocks = append(blocks, artifactSections(m, gateByFingerprint(r.Gate), messageCharBudge-used, maxBlocks-len(blocks)-len(tail))...)
	blocks = append(blocks, tail...)
	// The fallback goes into notifications: escaped like the blocks, so a
	// name from Kosli cannot ping a channel.
	emergency := ""
	if r.BreakGlass != nil {
		emergency = "EMERGENCY break-glass release, "
	}
	text := fmt.Sprintf("Release %s (%s): %s%s, %d artifact(s) from %s to %s", r.ID, r.Pipeline,
		emergency, stateLine(r, v.Now), len(m.Artifacts), m.Source.Environment, m.Target.Environment)
	if m.RollbackOf != "" {
		text = fmt.Sprintf("Rollback %s (%s) of %s: %s%s, %d artifact(s) put back in %s", r.ID, r.Pipeline,
			m.RollbackOf, emergency, stateLine(r, v.Now), len(m.Artifacts), m.Target.Environment)
	}
	return Message{Blocks: blocks, Text: truncate(esc(text), maxFallbackText)}
}

// decisionButtons are a release's Approve and Reject buttons, in an actions
// block with blockID: the same on its message and on a Home tab, so that a
// click on either is the same click to the handler.
func decisionButtons(r *release.Release, m *release.Manifest, blockID string) slack.Block {
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
	reject.Confirm = RejectConfirm()
	return slack.NewActionBlock(blockID, approve, reject)
}

// artifactSections lists the manifest's artifacts, one line each, in at most
// budget characters and maxSections sections. When they do not all fit, the
// artifacts the gate refused come first, then the rest in manifest order, and
// a last line names those left out and where the whole manifest is.
func artifactSections(m *release.Manifest, results map[string][]release.Compliance, budget, maxSections int) []slack.Block {
	lines := make([]string, len(m.Artifacts))
	refused := make([]bool, len(m.Artifacts))
	total := 0
	for i, a := range m.Artifacts {
		verdicts := results[strings.TrimPrefix(a.Digest, "sha256:")]
		lines[i] = truncate(artifactLine(a, verdicts), maxSectionText)
		total += len(lines[i]) + 1
		for _, c := range verdicts {
			refused[i] = refused[i] || c.Blocks()
		}
	}
	order := make([]int, 0, len(lines))
	if total > budget || len(packLines(lines)) > maxSections {
		for i := range lines {
			if refused[i] {
				order = append(order, i)
			}
		}
		for i := range lines {
			if !refused[i] {
				order = append(order, i)
			}
		}
		// Room for the line that names the rest.
		budget -= maxSectionText
		maxSections--
	} else {
		for i := range lines {
			order = append(order, i)
		}
	}
	var shown []string
	// used counts the characters shown; sections and last follow packLines:
	// how many sections the shown lines make, and the length of the last.
	used, sections, last := 0, 0, 0
	for _, i := range order {
		l := lines[i]
		// Short of room, a refused artifact keeps its reasons while they take
		// at most half the budget; every other line shrinks to its summary.
		if total > budget && (!refused[i] || used+len(l) > budget/2) {
			l = summaryArtifactLine(m.Artifacts[i], refused[i])
		}
		opens := last == 0 || last+1+len(l) > maxSectionText
		if used+len(l)+1 > budget || (opens && sections == maxSections) {
			break
		}
		if opens {
			sections, last = sections+1, len(l)
		} else {
			last += 1 + len(l)
		}
		shown = append(shown, l)
		used += len(l) + 1
	}
	var out []slack.Block
	for _, s := range packLines(shown) {
		out = append(out, section(s))
	}
	if rest := order[len(shown):]; len(rest) > 0 {
		out = append(out, section(moreArtifactsLine(m, rest)))
	}
	return out
}

// summaryArtifactLine is an artifact's line when a release has too many to
// show whole: the service, the commits, and whether the gate refused it.
func summaryArtifactLine(a release.ManifestArtifact, refused bool) string {
	from := ":new: new"
	if a.Replaces != nil {
		from = "`" + shortSHA(a.Replaces.CommitSHA) + "`"
	}
	l := "• *" + esc(a.Service) + "*  " + from + " → `" + shortSHA(a.Commit.SHA) + "`"
	if refused {
		l += " · :x: not compliant"
	}
	return l
}

// moreArtifactsLine names the artifacts a release message has no room for,
// as many as a section holds, and where the whole manifest is.
func moreArtifactsLine(m *release.Manifest, rest []int) string {
	where := "the whole manifest is recorded in Kosli"
	if m.Evidence.TrailURL != "" {
		where = "the whole manifest is on " + link(m.Evidence.TrailURL, "Kosli trail "+m.Evidence.KosliTrail)
	} else if m.Evidence.KosliTrail != "" {
		where = "the whole manifest is on Kosli trail `" + esc(m.Evidence.KosliTrail) + "`"
	}
	head := fmt.Sprintf("…and %d more artifact(s) (%s): ", len(rest), where)
	room := maxSectionText - len(head) - len(", and others")
	var b strings.Builder
	for k, i := range rest {
		name := esc(m.Artifacts[i].Service)
		if b.Len()+len(name)+2 > room {
			fmt.Fprintf(&b, " and %d others", len(rest)-k)
			break
		}
		if k > 0 {
			b.WriteString(", ")
		}
		b.WriteString(name)
	}
	return head + b.String() + "."
}

func stateLine(r *release.Release, now time.Time) string {
	switch r.State {
	case release.Proposed:
		return fmt.Sprintf("Waiting for approval (%d of %d)", len(r.Approvals), r.Required)
	case release.Approved:
		if r.FrozenUntil.After(now) {
			return "Approved: waiting for the freeze to end " + slackDate(r.FrozenUntil)
		}
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
		case c.Pending:
			b.WriteString(" · :hourglass: " + esc(c.Environment) + ": awaiting this release's approval")
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
	if e == nil {
		return ":grey_question: Evidence: none"
	}
	decision := ""
	if e.Control != "" {
		decision = "; each artifact's decision is recorded for control `" + esc(e.Control) + "`"
	}
	if e.Reported() {
		return ":receipt: Evidence: " + link(e.URL, "Kosli trail "+e.Trail) + " in flow `" + esc(e.Flow) + "`" + decision
	}
	it := e.Item("report")
	if it.LastError == "" {
		// Propose posts the message first and sends the report right after.
		return ":hourglass: Evidence: being recorded on " + link(e.URL, "Kosli trail "+e.Trail) + " in flow `" + esc(e.Flow) + "`" + decision
	}
	return ":hourglass: *Evidence not in Kosli yet* (flow `" + esc(e.Flow) + "`): it is kept and retried until Kosli takes it" + decision + "." +
		" Last error: " + esc(truncate(it.LastError, 300))
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
