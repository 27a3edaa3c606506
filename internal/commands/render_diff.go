package commands

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/slack-go/slack"

	"github.com/release-bot/release-bot/internal/release"
)

// DiffView is what a diff message shows: one pipeline's plan.
type DiffView struct {
	Pipeline string
	Plan     *release.Plan
	Links    release.Links
	// Freeze is what holds the pipeline, nil when it is not frozen.
	Freeze *release.Freeze
}

// maxDiffMessages bounds the messages one diff is split into.
const maxDiffMessages = 4

// DiffMessages renders a plan as one message, or several when it has more
// services than one message can hold: every message stays within Slack's
// limits (50 blocks, 3,000 characters a section, ~11k characters of blocks).
func DiffMessages(v DiffView) []Message {
	p := v.Plan
	title := fmt.Sprintf("Release diff · %s: %s → %s", v.Pipeline, p.Source.Environment, p.Target.Environment)
	snapshots := fmt.Sprintf("%s → %s", link(v.Links.Snapshot(p.Source), p.Source.ID), link(v.Links.Snapshot(p.Target), p.Target.ID))

	var head []slack.Block
	head = append(head, header(title), contextBlock(snapshots))
	if v.Freeze != nil {
		head = append(head, section(freezeLine(v.Pipeline, v.Freeze)+" Nothing is proposed or dispatched until then."))
	}
	if blockers := blockerLines(v); len(blockers) > 0 {
		for _, s := range packLines(blockers) {
			head = append(head, section(s))
		}
	}
	head = append(head, section(summaryLine(p)))

	var lines []string
	for i := range p.Promotions {
		lines = append(lines, promotionLine(&p.Promotions[i]))
	}
	for _, s := range p.Leaving {
		lines = append(lines, leavingLine(s, p.Target.Environment))
	}
	if len(p.Promotions) == 0 && !p.Refused() {
		lines = append(lines, fmt.Sprintf("Nothing to release: %s runs what %s runs.", esc(p.Target.Environment), esc(p.Source.Environment)))
	}
	fallback := diffFallback(v)
	var msgs []Message
	cur := Message{Blocks: head}
	chars := 0
	for _, b := range head {
		chars += blockChars(b)
	}
	// Lines are packed into sections, sections into messages; past a few
	// messages a channel is flooded, so the rest is summarised and `bot plan`
	// gives the whole list.
	var sec strings.Builder
	flush := func() {
		if sec.Len() > 0 {
			cur.Blocks = append(cur.Blocks, section(sec.String()))
			chars += sec.Len()
			sec.Reset()
		}
	}
	for i, l := range lines {
		l = truncate(l, maxSectionText)
		full := len(cur.Blocks)+1 >= maxBlocks-1 || chars+sec.Len()+len(l)+1 > messageCharBudge
		if full && len(msgs) == maxDiffMessages-1 {
			flush()
			org := ""
			if v.Links.Org != "" {
				org = " --org " + esc(v.Links.Org)
			}
			cur.Blocks = append(cur.Blocks, section(fmt.Sprintf("…and %d more. The whole list: `bot plan%s --from %s --to %s`.",
				len(lines)-i, org, esc(p.Source.Environment), esc(p.Target.Environment))))
			break
		}
		if sec.Len() > 0 && (full || sec.Len()+1+len(l) > maxSectionText) {
			flush()
		}
		if full {
			msgs = append(msgs, cur)
			cur = Message{Blocks: []slack.Block{contextBlock(fmt.Sprintf("*%s* diff, continued", esc(v.Pipeline)))}}
			chars = 0
		}
		if sec.Len() > 0 {
			sec.WriteByte('\n')
		}
		sec.WriteString(l)
	}
	flush()
	msgs = append(msgs, cur)
	for i := range msgs {
		msgs[i].Text = fallback
		if len(msgs) > 1 {
			msgs[i].Text = fmt.Sprintf("%s (part %d of %d)", fallback, i+1, len(msgs))
		}
	}
	return msgs
}

func summaryLine(p *release.Plan) string {
	parts := []string{fmt.Sprintf("*%d to promote*", len(p.Promotions)), fmt.Sprintf("%d unchanged", p.Unchanged)}
	if n := newServices(p); n > 0 {
		parts = append(parts, fmt.Sprintf("%d new", n))
	}
	if len(p.Leaving) > 0 {
		parts = append(parts, fmt.Sprintf("%d only in %s", len(p.Leaving), esc(p.Target.Environment)))
	}
	if n := len(p.Skipped()); n > 0 {
		parts = append(parts, fmt.Sprintf("%d without provenance", n))
	}
	return strings.Join(parts, " · ")
}

func newServices(p *release.Plan) int {
	n := 0
	for i := range p.Promotions {
		if p.Promotions[i].New() {
			n++
		}
	}
	return n
}

func promotionLine(pr *release.Promotion) string {
	var b strings.Builder
	b.WriteString("• *" + esc(pr.Service) + "*  ")
	if pr.Outgoing != nil {
		b.WriteString(link(pr.Outgoing.Commit.Link(), "`"+pr.Outgoing.Commit.ShortSHA()+"`") + " → ")
	} else {
		b.WriteString(":new: new service → ")
	}
	b.WriteString(link(pr.Incoming.Commit.Link(), "`"+pr.Incoming.Commit.ShortSHA()+"`"))
	label := "compare"
	if pr.Outgoing == nil || pr.RepoMoved || !strings.Contains(pr.DiffURL, "/compare/") {
		label = "commit"
	}
	b.WriteString(" · " + link(pr.DiffURL, label))
	if pr.Waited > 0 {
		b.WriteString(" · waiting " + release.HumanDuration(pr.Waited))
	}
	if pr.RepoMoved && pr.Outgoing != nil {
		b.WriteString(" · repo moved from " + esc(pr.Outgoing.Commit.Host) + " to " + esc(pr.Incoming.Commit.Host))
	}
	return b.String()
}

func leavingLine(s release.Service, target string) string {
	name := s.Name
	if name == "" {
		name = s.ImageName
	}
	sha := s.CommitSHA
	if len(sha) > 7 {
		sha = sha[:7]
	}
	if sha != "" {
		sha = " `" + sha + "`"
	}
	return fmt.Sprintf("• *%s*%s  :wave: leaving: runs only in %s; a release leaves it as it is", esc(name), sha, esc(target))
}

func blockerLines(v DiffView) []string {
	p := v.Plan
	var lines []string
	if p.Refused() {
		lines = append(lines, ":no_entry: *This release is blocked*")
	}
	for _, b := range p.Blockers {
		switch b.Kind {
		case release.DeploymentInProgress:
			lines = append(lines, fmt.Sprintf("• *Deployment in progress* in %s: %s runs more than one artifact. Wait for it to finish.",
				link(v.Links.Snapshot(release.ParseSnapshotID(b.SnapshotID)), b.SnapshotID), esc(strings.Join(b.Flows, ", "))))
		case release.RepoChanged:
			lines = append(lines, fmt.Sprintf("• *Repository changed* for %s: %s in %s, %s in %s.",
				esc(strings.Join(b.Flows, ", ")), esc(b.IncomingURL), esc(p.Source.Environment), esc(b.OutgoingURL), esc(p.Target.Environment)))
		}
	}
	var skipped []string
	for _, b := range p.Skipped() {
		skipped = append(skipped, fmt.Sprintf("• `%s` (%s)", esc(b.ImageName), esc(shortFP(b.Fingerprint))))
	}
	if len(skipped) > 0 {
		lines = append(lines, fmt.Sprintf(":warning: *No provenance*: %d artifact(s) in %s have no flow or commit in Kosli and cannot be promoted:", len(skipped), esc(p.Source.ID)))
		lines = append(lines, skipped...)
	}
	return lines
}

func shortFP(fp string) string {
	if len(fp) > 12 {
		return fp[:12]
	}
	return fp
}

// diffFallback is the plain-text version of the diff, for notifications.
func diffFallback(v DiffView) string {
	p := v.Plan
	var b strings.Builder
	fmt.Fprintf(&b, "Release diff for %s (%s → %s): %d to promote, %d unchanged", v.Pipeline, p.Source.ID, p.Target.ID, len(p.Promotions), p.Unchanged)
	if p.Refused() {
		b.WriteString(". Blocked: ")
		var rs []string
		for _, r := range p.Refusals() {
			rs = append(rs, r.String())
		}
		b.WriteString(strings.Join(rs, "; "))
	}
	if len(p.Promotions) > 0 && len(p.Promotions) <= 10 {
		var names []string
		for i := range p.Promotions {
			names = append(names, p.Promotions[i].Service)
		}
		b.WriteString(". Services: " + strings.Join(names, ", "))
	} else if len(p.Promotions) > 10 {
		b.WriteString(". " + strconv.Itoa(len(p.Promotions)) + " services")
	}
	return truncate(esc(b.String()), maxFallbackText)
}
