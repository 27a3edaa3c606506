package commands

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/release-bot/release-bot/internal/release"
)

// DriftView is what a drift report shows: what waits to go from one
// pipeline's source environment to its target, and for how long.
type DriftView struct {
	Pipeline string
	From, To string
	// Plan is nil when the environments could not be read; Problem then
	// says so, in words for the channel.
	Plan    *release.Plan
	Problem string
	// Compliance is each waiting artifact's verdict in To, by incoming
	// fingerprint; an artifact missing from it is shown as not known.
	Compliance map[string]release.Compliance
	// StaleAfter is how long an artifact may wait before it is flagged.
	StaleAfter time.Duration
	// Open is the pipeline's open release, linked instead of the Propose button.
	Open *release.Release
	// Quiet posts nothing when nothing waits (quiet_when_empty, on a schedule).
	Quiet bool
	// Freeze is what holds the pipeline, nil when it is not frozen: it
	// is said, and the Propose button is not offered.
	Freeze *release.Freeze
	// Overdue are break-glass releases whose review is overdue: every
	// report names them, even one that is otherwise quiet.
	Overdue []*release.Release
	// Soaking are the waiting services (by name) that have not yet run the
	// pipeline's gate.min_soak in From: each line says when it is eligible.
	Soaking map[string]release.Soaking
	Links   release.Links
	// At is when the report was made.
	At time.Time
}

// driftTail is what the service lines leave of a message's text for the
// "and more" line and the open release after them.
const driftTail = 700

// DriftMessage renders a drift report as one message; ok is false when
// there is nothing to post (nothing waits and the report is quiet). It
// stays within Slack's limits however many services wait: past what one
// message holds, the rest is counted and `/release diff` lists them.
func DriftMessage(v DriftView) (msg Message, ok bool) {
	if v.Plan == nil {
		return Message{
			Text: truncate(esc(fmt.Sprintf("Drift report for %s: could not read %s and %s from Kosli", v.Pipeline, v.From, v.To)), maxFallbackText),
			Blocks: append([]slack.Block{
				header(fmt.Sprintf("Drift report · %s: %s → %s", v.Pipeline, v.From, v.To)),
				section(v.Problem),
				contextBlock(fmt.Sprintf("The report could not say what waits. `/release drift %s` tries again.", v.Pipeline)),
			}, overdueSections(v)...),
		}, true
	}
	p := v.Plan
	if len(p.Promotions) == 0 && len(p.Blockers) == 0 {
		if v.Quiet && len(v.Overdue) == 0 {
			return Message{}, false
		}
		line := fmt.Sprintf("Nothing waits to be released in %s: %s runs what %s runs.", v.Pipeline, p.Target.Environment, p.Source.Environment)
		blocks := []slack.Block{section(":white_check_mark: " + esc(line))}
		if v.Freeze != nil {
			blocks = append(blocks, section(freezeLine(v.Pipeline, v.Freeze)))
		}
		return Message{Text: line, Blocks: append(blocks, overdueSections(v)...)}, true
	}

	blocks := []slack.Block{
		header(fmt.Sprintf("Drift report · %s: %s → %s", v.Pipeline, p.Source.Environment, p.Target.Environment)),
		contextBlock(
			fmt.Sprintf("%s → %s", link(v.Links.Snapshot(p.Source), p.Source.ID), link(v.Links.Snapshot(p.Target), p.Target.ID)),
			"as of "+slackDate(v.At),
		),
	}
	if v.Freeze != nil {
		blocks = append(blocks, section(freezeLine(v.Pipeline, v.Freeze)+" Nothing is proposed or dispatched until then."))
	}
	blocks = append(blocks, overdueSections(v)...)
	blockers, more := fitLines(blockerLines(DiffView{Pipeline: v.Pipeline, Plan: p, Links: v.Links}), maxSectionText)
	if more > 0 {
		blockers = append(blockers, fmt.Sprintf("…and %d more lines: `/release diff %s` shows them.", more, v.Pipeline))
	}
	for _, s := range blockers {
		blocks = append(blocks, section(s))
	}

	waiting := slices.Clone(p.Promotions)
	// The longest wait first: that is what the report is for.
	slices.SortStableFunc(waiting, func(a, b release.Promotion) int { return cmp.Compare(b.Waited, a.Waited) })
	var lines []string
	stale, failing := 0, 0
	for i := range waiting {
		pr := &waiting[i]
		if v.StaleAfter > 0 && pr.Waited > v.StaleAfter {
			stale++
		}
		if c, known := v.Compliance[pr.Incoming.Fingerprint]; known && c.Blocks() {
			failing++
		}
		lines = append(lines, driftLine(pr, v))
	}
	blocks = append(blocks, section(driftSummary(v, stale, failing)))
	used := 0
	for _, b := range blocks {
		used += blockChars(b)
	}
	sections, more := fitLines(lines, messageCharBudge-used-driftTail)
	if more > 0 {
		sections = append(sections, fmt.Sprintf("…and %d more waiting: `/release diff %s` lists them all.", more, v.Pipeline))
	}
	for _, s := range sections {
		blocks = append(blocks, section(s))
	}

	switch {
	case v.Open != nil:
		blocks = append(blocks, section(openReleaseLine(v.Open, v.At)))
	case len(p.Promotions) > 0 && !p.Refused() && v.Freeze == nil:
		propose := slack.NewButtonBlockElement(ActionPropose, v.Pipeline, slack.NewTextBlockObject(slack.PlainTextType, "Propose release", false, false))
		propose.Style = slack.StylePrimary
		// A block id of its own per report, so a click says which report it came from.
		blocks = append(blocks, slack.NewActionBlock(fmt.Sprintf("drift:%s:%d", v.Pipeline, v.At.Unix()), propose))
	}
	return Message{Text: driftFallback(v, stale, failing), Blocks: blocks}, true
}

// driftLine is one waiting service: the diff's line, then its wait
// (flagged past stale_after) and its compliance in the target.
func driftLine(pr *release.Promotion, v DriftView) string {
	unwaited := *pr
	unwaited.Waited = 0
	line := promotionLine(&unwaited)
	switch {
	case pr.Waited <= 0:
	case v.StaleAfter > 0 && pr.Waited > v.StaleAfter:
		line += fmt.Sprintf(" · :rotating_light: waiting %s (over %s)", release.HumanDuration(pr.Waited), hours(v.StaleAfter))
	default:
		line += " · waiting " + release.HumanDuration(pr.Waited)
	}
	if s, ok := v.Soaking[pr.Service]; ok {
		if s.Unknown() {
			line += " · :hourglass_flowing_sand: soaking: start in " + esc(v.From) + " not known"
		} else {
			line += fmt.Sprintf(" · :hourglass_flowing_sand: soaking: eligible %s (%s more)", slackDate(s.Eligible), release.HumanDuration(s.Left.Round(time.Minute)))
		}
	}
	c, known := v.Compliance[pr.Incoming.Fingerprint]
	switch {
	case !known:
		return line + " · :grey_question: compliance in " + esc(v.To) + " not known"
	case c.Compliant:
		return line + " · :white_check_mark: compliant in " + esc(c.Environment)
	case c.Pending:
		return line + " · :hourglass: in " + esc(c.Environment) + ": awaiting a release's approval"
	case c.Unknown:
		return line + " · :x: not compliant in " + esc(c.Environment) + ": unknown to Kosli"
	}
	why := ""
	if len(c.Failures) > 0 {
		why = ": " + strings.Join(c.Failures, "; ")
	}
	return line + " · :x: not compliant in " + esc(c.Environment+why)
}

// hours writes a threshold as people configure it: 72h rather than 3d.
func hours(d time.Duration) string {
	if d%time.Hour == 0 {
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	}
	return release.HumanDuration(d)
}

func driftSummary(v DriftView, stale, failing int) string {
	p := v.Plan
	parts := []string{fmt.Sprintf("*%d waiting* to go to %s", len(p.Promotions), esc(p.Target.Environment))}
	if stale > 0 {
		parts = append(parts, fmt.Sprintf(":rotating_light: %d over %s", stale, hours(v.StaleAfter)))
	}
	if failing > 0 {
		parts = append(parts, fmt.Sprintf(":x: %d not compliant in %s", failing, esc(p.Target.Environment)))
	}
	if n := len(p.Skipped()); n > 0 {
		parts = append(parts, fmt.Sprintf("%d without provenance", n))
	}
	return strings.Join(parts, " · ")
}

// openReleaseLine links the open release rather than offering another.
func openReleaseLine(r *release.Release, now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, ":package: Release `%s` is open: %s *%s*", r.ID, stateEmoji[r.State], stateLine(r, now))
	if r.Channel != "" {
		fmt.Fprintf(&b, " in <#%s>", r.Channel)
	}
	if r.Evidence.Reported() && r.Evidence.URL != "" {
		b.WriteString(" · " + link(r.Evidence.URL, "Kosli trail"))
	}
	fmt.Fprintf(&b, ". `/release status %s` shows where it is; what waits here goes out with the next release.", r.ID)
	return b.String()
}

func driftFallback(v DriftView, stale, failing int) string {
	p := v.Plan
	var b strings.Builder
	fmt.Fprintf(&b, "Drift report for %s: %d waiting to go from %s to %s", v.Pipeline, len(p.Promotions), p.Source.Environment, p.Target.Environment)
	if stale > 0 {
		fmt.Fprintf(&b, ", %d over %s", stale, hours(v.StaleAfter))
	}
	if failing > 0 {
		fmt.Fprintf(&b, ", %d not compliant", failing)
	}
	if p.Refused() {
		b.WriteString(". Blocked")
	}
	if v.Open != nil {
		fmt.Fprintf(&b, ". Release %s is open", v.Open.ID)
	}
	return truncate(esc(b.String()), maxFallbackText)
}

// fitLines packs as many lines as fit in budget characters into sections;
// more is how many were left out.
func fitLines(lines []string, budget int) (sections []string, more int) {
	used := 0
	for i, l := range lines {
		n := min(len(l), maxSectionText) + 1
		if used+n > budget {
			return packLines(lines[:i]), len(lines) - i
		}
		used += n
	}
	return packLines(lines), 0
}

// maxOverdueLines bounds the overdue reviews a report lists one by one.
const maxOverdueLines = 5

// overdueSections name the overdue break-glass reviews, in one section.
func overdueSections(v DriftView) []slack.Block {
	if len(v.Overdue) == 0 {
		return nil
	}
	var lines []string
	for i, r := range v.Overdue {
		if i == maxOverdueLines {
			lines = append(lines, fmt.Sprintf("…and %d more: `/release list %s` shows them.", len(v.Overdue)-i, v.Pipeline))
			break
		}
		lines = append(lines, overdueLine(r))
	}
	return []slack.Block{section(strings.Join(lines, "\n"))}
}
