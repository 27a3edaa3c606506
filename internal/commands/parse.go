package commands

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/release-bot/release-bot/internal/config"
)

// Verb is a /release subcommand.
type Verb string

// The subcommands.
const (
	VerbHelp    Verb = "help"
	VerbDiff    Verb = "diff"
	VerbPropose Verb = "propose"
	VerbStatus  Verb = "status"
	VerbList    Verb = "list"
	VerbCancel  Verb = "cancel"
	VerbDrift   Verb = "drift"
	VerbFreeze  Verb = "freeze"
	// VerbUnfreeze lifts a pipeline's ad hoc freeze.
	VerbUnfreeze Verb = "unfreeze"
	// VerbRollback proposes putting back what ran before a release.
	VerbRollback Verb = "rollback"
	// VerbMute stops the person's direct messages about a pipeline's releases.
	VerbMute Verb = "mute"
	// VerbUnmute gives them back.
	VerbUnmute Verb = "unmute"
)

// Verbs lists every subcommand, for metrics labels.
var Verbs = []Verb{VerbHelp, VerbDiff, VerbPropose, VerbStatus, VerbList, VerbCancel, VerbDrift, VerbFreeze, VerbUnfreeze, VerbRollback, VerbMute, VerbUnmute}

// Request is a parsed /release command.
type Request struct {
	Verb Verb
	// Pipeline is the pipeline named, "" to take the channel's only one.
	Pipeline string
	// Services are the services named after the pipeline (propose).
	Services []string
	// ReleaseID is the release named (status, cancel, rollback).
	ReleaseID string
	// FreezeFor (a duration) or FreezeUntil (a time) is how long a freeze
	// lasts; exactly one is set for VerbFreeze. Whether FreezeUntil is in the
	// future is the handler's to check: it has the clock.
	FreezeFor   time.Duration
	FreezeUntil time.Time
	// Reason is why (freeze; propose or rollback --break-glass; what
	// follows the release id of a cancel, as typed).
	Reason string
	// BreakGlass is a propose with --break-glass: an emergency release.
	BreakGlass bool
	// Ticket is a propose's or a rollback's change ticket (--ticket CHG123) as typed; whether
	// the pipeline takes it is the handler's to check.
	Ticket string
}

// MaxReason is the longest freeze or break-glass reason, in runes.
const MaxReason = 500

// UsageError is a command a person mistyped; Text is the reply they see.
type UsageError struct{ Text string }

func (e *UsageError) Error() string { return e.Text }

var (
	namePattern    = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,30}$`)
	servicePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)
	releasePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,30}-\d{4}-\d{2}-\d{2}-\d+$`)
	// durationShape is what a duration, even a wrong one (0h, 2x), looks like.
	durationShape = regexp.MustCompile(`^[0-9][0-9.]*[a-zµ]*([0-9.]+[a-zµ]*)*$`)
)

// Usage is the help text, in mrkdwn.
const Usage = "*release-bot* promotes what runs in one environment to another.\n" +
	"• `/release diff [pipeline]`: what would ship, what blocks it, how long it has waited\n" +
	"• `/release propose [pipeline] [service…] [--ticket <change ticket>]`: freeze the plan into a release for approval\n" +
	"• `/release status [release-id]`: where a release is\n" +
	"• `/release list [pipeline]`: recent releases\n" +
	"• `/release cancel [release-id] [reason…]`: cancel a release (its proposer or an approver), asking why when no reason follows\n" +
	"• `/release drift [pipeline]`: the drift report: what waits to go out\n" +
	"• `/release freeze [pipeline] <duration | until time> <reason>`: stop releases for a while (an approver), e.g. `/release freeze 2h incident 42`, `/release freeze until 2026-12-27T09:00:00Z holidays`\n" +
	"• `/release unfreeze [pipeline]`: lift that freeze\n" +
	"• `/release rollback [pipeline] [release-id] [--ticket <change ticket>] [--break-glass <reason>]`: propose putting back what ran before a release (by default the last that succeeded)\n" +
	"• `/release propose [pipeline] [service…] --break-glass <reason>`: an emergency release that ignores freezes (if the pipeline allows you)\n" +
	"• `/release mute [pipeline]`: no more direct messages to you about its releases (the thread still mentions you); `/release unmute [pipeline]` undoes it\n" +
	"• `/release help`: this text\n" +
	"The pipeline can be left out in a channel that has only one."

// Parse reads the text after "/release". It never fails silently: anything it
// cannot read is a *UsageError saying what and showing the usage.
func Parse(text string) (Request, error) {
	words := strings.Fields(strings.ReplaceAll(text, "\u00a0", " "))
	if len(words) == 0 {
		return Request{Verb: VerbHelp}, nil
	}
	verb := Verb(strings.ToLower(words[0]))
	args := words[1:]
	switch verb {
	case VerbHelp:
		return Request{Verb: VerbHelp}, nil
	case VerbDiff, VerbDrift, VerbList:
		if len(args) > 1 {
			return Request{}, usage("`/release %s` takes at most a pipeline name, not %s.", verb, echo(strings.Join(args[1:], " ")))
		}
		r := Request{Verb: verb}
		if len(args) == 1 {
			if !namePattern.MatchString(args[0]) {
				return Request{}, usage("%s is not a pipeline name.", echo(args[0]))
			}
			r.Pipeline = args[0]
		}
		return r, nil
	case VerbFreeze:
		return parseFreeze(args)
	case VerbUnfreeze, VerbMute, VerbUnmute:
		if len(args) > 1 {
			return Request{}, usage("`/release %s` takes at most a pipeline name, not %s.", verb, echo(strings.Join(args[1:], " ")))
		}
		r := Request{Verb: verb}
		if len(args) == 1 {
			if !namePattern.MatchString(args[0]) {
				return Request{}, usage("%s is not a pipeline name.", echo(args[0]))
			}
			r.Pipeline = args[0]
		}
		return r, nil
	case VerbPropose:
		r := Request{Verb: verb}
		if i := slices.IndexFunc(args, isBreakGlass); i >= 0 {
			r.BreakGlass = true
			reason, err := reasonOf(args[i+1:], "`--break-glass` needs a reason, e.g. `/release propose --break-glass login is down for everyone`.")
			if err != nil {
				return Request{}, err
			}
			r.Reason, args = reason, args[:i]
		}
		ticket, args, err := ticketOf(args)
		if err != nil {
			return Request{}, err
		}
		r.Ticket = ticket
		if len(args) > 0 {
			if !namePattern.MatchString(args[0]) {
				return Request{}, usage("%s is not a pipeline name.", echo(args[0]))
			}
			r.Pipeline = args[0]
		}
		seen := map[string]bool{}
		for _, s := range args[min(1, len(args)):] {
			s = strings.TrimSuffix(s, ",")
			if !servicePattern.MatchString(s) {
				return Request{}, usage("%s is not a service name.", echo(s))
			}
			if !seen[s] {
				seen[s] = true
				r.Services = append(r.Services, s)
			}
		}
		return r, nil
	case VerbRollback:
		return parseRollback(args)
	case VerbCancel:
		if len(args) > 1 {
			if !releasePattern.MatchString(args[0]) {
				return Request{}, usage("%s: a reason follows a release id: `cancel <release-id> <reason…>`.", echo(strings.Join(args, " ")))
			}
			return Request{Verb: verb, ReleaseID: args[0], Reason: strings.Join(args[1:], " ")}, nil
		}
		fallthrough
	case VerbStatus:
		if len(args) > 1 {
			return Request{}, usage("`/release %s` takes at most a release id, not %s.", verb, echo(strings.Join(args, " ")))
		}
		r := Request{Verb: verb}
		if len(args) == 1 {
			switch {
			case releasePattern.MatchString(args[0]):
				r.ReleaseID = args[0]
			case namePattern.MatchString(args[0]):
				r.Pipeline = args[0] // the pipeline's active release
			default:
				return Request{}, usage("%s is not a release id (like `prod-2026-11-24-1`).", echo(args[0]))
			}
		}
		return r, nil
	}
	return Request{}, usage("I don't know %s.", echo(words[0]))
}

// parseRollback reads `rollback [pipeline] [release-id]`: a word shaped
// like a release id is the release, any other the pipeline.
func parseRollback(args []string) (Request, error) {
	const how = "`/release rollback [pipeline] [release-id]`, e.g. `/release rollback prod` or `/release rollback prod-2026-11-24-1`."
	r := Request{Verb: VerbRollback}
	if i := slices.IndexFunc(args, isBreakGlass); i >= 0 {
		reason, err := reasonOf(args[i+1:], "`--break-glass` needs a reason, e.g. `/release rollback --break-glass checkout fails since the last release`.")
		if err != nil {
			return Request{}, err
		}
		r.BreakGlass, r.Reason, args = true, reason, args[:i]
	}
	ticket, args, err := ticketOf(args)
	if err != nil {
		return Request{}, err
	}
	r.Ticket = ticket
	if len(args) > 2 {
		return Request{}, usage("`/release rollback` takes at most a pipeline and a release id, not %s. %s", echo(strings.Join(args, " ")), how)
	}
	for i, a := range args {
		switch {
		case releasePattern.MatchString(a) && r.ReleaseID == "":
			r.ReleaseID = a
		case i == 0 && namePattern.MatchString(a):
			r.Pipeline = a
		default:
			return Request{}, usage("%s is not a pipeline or a release id. %s", echo(a), how)
		}
	}
	return r, nil
}

// ticketOf takes "--ticket CHG123" (or "--ticket=CHG123") out of a
// propose's words; the flag once at most, always with a ticket.
func ticketOf(args []string) (ticket string, rest []string, err error) {
	const how = "`--ticket` needs the change ticket, e.g. `/release propose prod --ticket CHG123`."
	found := false
	for i := 0; i < len(args); i++ {
		value, inline := "", false
		word := args[i]
		if name, v, ok := strings.Cut(word, "="); ok && isFlag(name, "ticket") {
			value, inline = v, true
		} else if !isFlag(word, "ticket") {
			rest = append(rest, word)
			continue
		}
		if found {
			return "", nil, usage("`--ticket` is given twice; give one change ticket.")
		}
		found = true
		if !inline {
			if i+1 >= len(args) || strings.HasPrefix(args[i+1], "-") {
				return "", nil, usage("%s", how)
			}
			i++
			value = args[i]
		}
		if value == "" {
			return "", nil, usage("%s", how)
		}
		ticket = value
	}
	return ticket, rest, nil
}

// isFlag reports whether a word is --name, with Slack's smart punctuation
// (an em or en dash for a typed "--") read as the flag too.
func isFlag(word, name string) bool {
	for _, dashes := range []string{"--", "\u2014", "\u2013"} {
		if word == dashes+name {
			return true
		}
	}
	return false
}

// isBreakGlass reports whether a word is the --break-glass flag. Slack's
// clients may turn a typed "--" into an em or en dash (smart punctuation),
// so those are read as the flag too.
func isBreakGlass(word string) bool { return isFlag(word, "break-glass") }

// parseFreeze reads `freeze [pipeline] <duration | until RFC3339> <reason>`.
// A first word that is a duration or "until" is the length, not a pipeline.
func parseFreeze(args []string) (Request, error) {
	const how = "Say for how long and why: `/release freeze [pipeline] <duration | until 2026-12-27T09:00:00Z> <reason>`."
	r := Request{Verb: VerbFreeze}
	if len(args) > 0 && !isFreezeLength(args[0]) {
		if !namePattern.MatchString(args[0]) {
			return Request{}, usage("%s is not a pipeline name or a duration. %s", echo(args[0]), how)
		}
		r.Pipeline, args = args[0], args[1:]
	}
	switch {
	case len(args) == 0:
		return Request{}, usage("%s", how)
	case strings.EqualFold(args[0], "until"):
		if len(args) < 2 {
			return Request{}, usage("`until` needs a time, e.g. `until 2026-12-27T09:00:00Z`. %s", how)
		}
		t, err := config.ParseTime(args[1])
		if err != nil {
			return Request{}, usage("%s is not a time: it %s.", echo(args[1]), err.Error())
		}
		r.FreezeUntil, args = t, args[2:]
	default:
		d, err := config.ParseDuration(args[0])
		if err != nil {
			after := ""
			if r.Pipeline != "" {
				after = " (after the pipeline name " + echo(r.Pipeline) + ")"
			}
			return Request{}, usage("%s%s is not a duration: it %s. %s", echo(args[0]), after, err.Error(), how)
		}
		r.FreezeFor, args = d.Duration(), args[1:]
	}
	reason, err := reasonOf(args, "A freeze needs a reason: it is shown to everyone whose release waits. "+how)
	if err != nil {
		return Request{}, err
	}
	r.Reason = reason
	return r, nil
}

// isFreezeLength reports whether a word starts a freeze's length: "until",
// or something shaped like a duration (a digit first), which no pipeline
// name is taken for.
func isFreezeLength(word string) bool {
	return strings.EqualFold(word, "until") || durationShape.MatchString(word)
}

// reasonOf joins the words of a reason; none is a usage error saying missing.
func reasonOf(words []string, missing string) (string, error) {
	reason := strings.TrimSpace(strings.Join(words, " "))
	if reason == "" {
		return "", usage("%s", missing)
	}
	if n := utf8.RuneCountInString(reason); n > MaxReason {
		return "", usage("The reason is %d characters long; keep it to %d.", n, MaxReason)
	}
	return reason, nil
}

// maxEcho is how much of what a person typed a usage reply shows back.
const maxEcho = 40

// echo shows a person's text back in a reply: in quotes, cut to maxEcho
// runes before it is escaped, so a long or crafted command cannot make the
// reply long or turn into mentions and links.
func echo(s string) string {
	return `"` + esc(cut(s, maxEcho)) + `"`
}

func usage(format string, args ...any) error {
	return &UsageError{Text: fmt.Sprintf(format, args...) + "\n\n" + Usage}
}
