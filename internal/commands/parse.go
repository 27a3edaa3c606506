package commands

import (
	"fmt"
	"regexp"
	"strings"
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
)

// Request is a parsed /release command.
type Request struct {
	Verb Verb
	// Pipeline is the pipeline named, "" to take the channel's only one.
	Pipeline string
	// Services are the services named after the pipeline (propose).
	Services []string
	// ReleaseID is the release named (status, cancel).
	ReleaseID string
}

// UsageError is a command a person mistyped; Text is the reply they see.
type UsageError struct{ Text string }

func (e *UsageError) Error() string { return e.Text }

var (
	namePattern    = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,30}$`)
	servicePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)
	releasePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,30}-\d{4}-\d{2}-\d{2}-\d+$`)
)

// Usage is the help text, in mrkdwn.
const Usage = "*release-bot* promotes what runs in one environment to another.\n" +
	"• `/release diff [pipeline]`: what would ship, what blocks it, how long it has waited\n" +
	"• `/release propose [pipeline] [service…]`: freeze the plan into a release for approval\n" +
	"• `/release status [release-id]`: where a release is\n" +
	"• `/release list [pipeline]`: recent releases\n" +
	"• `/release cancel [release-id]`: cancel a release (its proposer or an approver)\n" +
	"• `/release drift [pipeline]`: the drift report: what waits to go out\n" +
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
	case VerbPropose:
		r := Request{Verb: verb}
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
	case VerbStatus, VerbCancel:
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
