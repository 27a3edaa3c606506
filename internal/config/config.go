// Package config reads release-bot's configuration: the pipelines file (YAML)
// and the environment (secrets and endpoints).
//
// The file is parsed strictly, once, into valid types: unknown keys are
// errors, durations, cron schedules, channel ids and approvers are parsed
// here and not later, defaults are filled in, and every problem is reported
// together, each naming the file, the line, the field and the rule:
//
//	bot.yaml:12: pipelines[1].approvals.required: must be at least 1
//
// A *Config that Parse or Load returns needs no further checking.
package config

import (
	"errors"
	"io/fs"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Defaults for what the file leaves out.
const (
	DefaultRetention    = Duration(90 * Day)
	DefaultWorkingAfter = Duration(time.Second)
	DefaultRequired     = 1
	DefaultExpireAfter  = Duration(24 * time.Hour)
	DefaultRef          = "main"
	DefaultWorkflowTime = Duration(2 * time.Hour)
	DefaultVerifyTime   = Duration(15 * time.Minute)
	// DefaultEvidenceTimeout is how long a dispatch waits for Kosli to record the decisions.
	DefaultEvidenceTimeout = Duration(15 * time.Minute)
	DefaultStaleAfter      = Duration(72 * time.Hour)
	// DefaultFlowSuffix makes a pipeline's evidence flow "<name>-release".
	DefaultFlowSuffix = "-release"
	// MaxRequired bounds approvals.required: more is a typo, not a policy.
	MaxRequired = 20
	// DefaultWaitTimeout bounds a decision's wait for its replicas.
	DefaultWaitTimeout = Duration(time.Second)
	// MaxWaitTimeout stays below the Redis client's 3s read timeout, which
	// the wait shares with its write.
	MaxWaitTimeout = Duration(2 * time.Second)
	// MaxReplicasAcked bounds redis.min_replicas_acked: more is a typo.
	MaxReplicasAcked = 16
	// DefaultBreakGlassRequired is how many approvals a break-glass release needs.
	DefaultBreakGlassRequired = 1
	// DefaultReviewWithin is how long a break-glass release may wait for its review.
	DefaultReviewWithin = Duration(24 * time.Hour)
	// MaxFreezeName bounds a freeze's name, in runes: it is shown in every message about the freeze.
	MaxFreezeName = 80
	// MaxFreezeReason bounds a freeze's reason, in runes.
	MaxFreezeReason = 500
)

// Config is a whole, valid configuration file.
type Config struct {
	Settings Settings
	// Pipelines are in file order; there is at least one, and names are unique.
	Pipelines []*Pipeline
}

// Settings apply to every pipeline.
type Settings struct {
	// TeamID, when set, is the only Slack workspace whose clicks and commands are served.
	TeamID string
	// AppID, when set, is the only Slack app whose payloads are served.
	AppID string
	// Retention is how long finished releases are kept.
	Retention Duration
	// WorkingAfter is how long a command may take before "Working on it…" is shown.
	WorkingAfter Duration
	Redis        Redis
	// Freezes apply to every pipeline, besides each pipeline's own.
	Freezes []Freeze
}

// Redis is how decisions are made durable in Redis.
type Redis struct {
	// MinReplicasAcked is how many replicas must hold an approval, a
	// rejection, a cancellation or a dispatch claim before it is
	// acknowledged (WAIT); -1, the default, means 1 when the master has
	// replicas at start and 0 on a single server.
	MinReplicasAcked int
	// WaitTimeout bounds each WAIT, from 1ms to MaxWaitTimeout.
	WaitTimeout Duration
}

// Pipeline is one promotion path, from one Kosli environment to another,
// driven from one Slack channel.
type Pipeline struct {
	// Name is what people type: /release propose prod.
	Name string
	// From is the Kosli environment artifacts are promoted from.
	From string
	// To is the Kosli environment artifacts are promoted to; never From.
	To string
	// Channel is where /release works for this pipeline and where reports go.
	Channel   ChannelID
	Approvals Approvals
	Evidence  Evidence
	// Workflow is nil when releases are recorded but not dispatched.
	Workflow *Workflow
	Verify   Verify
	Gate     Gate
	// MinSoak is how long an artifact must have run in From before it may be
	// promoted (gate.min_soak); 0 when there is no soak.
	MinSoak Duration
	// ChangeTicket is nil when releases take no change ticket.
	ChangeTicket *ChangeTicket
	// DriftReport is nil when no drift report is scheduled.
	DriftReport *DriftReport
	// Freezes are the pipeline's own freeze windows (see Config.Freezes
	// for all that apply to it).
	Freezes []Freeze
	// BreakGlass is nil when the pipeline allows no break-glass release.
	BreakGlass *BreakGlass
}

// Freeze is a configured window in which a pipeline's releases are not
// proposed or dispatched: recurring (Start and Duration) or one-off (From
// and Until). Windows may overlap.
type Freeze struct {
	// Name is what people see: "Christmas", "quarter end".
	Name string
	// Reason is why, shown with the name.
	Reason string
	// Start is when a recurring window opens (IsZero for a one-off), and
	// Duration how long it lasts from each opening.
	Start    Schedule
	Duration Duration
	// From and Until bound a one-off window: From <= t < Until.
	From, Until time.Time
}

// Recurring reports whether f opens on a schedule rather than once.
func (f Freeze) Recurring() bool { return !f.Start.IsZero() }

// TicketPlaceholder is where a change ticket goes in ChangeTicket.URL.
const TicketPlaceholder = "{ticket}"

// ChangeTicket is a pipeline's change tickets: /release propose … --ticket CHG123.
type ChangeTicket struct {
	// Required refuses a proposal without a ticket.
	Required bool
	// Pattern is what a ticket must match, whole (anchored with ^ and $).
	Pattern *regexp.Regexp
	// URL links a ticket, with TicketPlaceholder where it goes; "" for no link.
	URL string
}

// BreakGlass is who may propose an emergency release that ignores freezes,
// how many approvals it needs and how soon it must be reviewed.
type BreakGlass struct {
	// Allowed are the users and user groups who may propose one; never empty.
	Allowed []Approver
	// Required is how many approvals it needs, 0 (ship at once) to MaxRequired.
	Required int
	// ReviewWithin is how long after it is proposed its review is due.
	ReviewWithin Duration
}

// Approvals is who must approve a release, and how many of them.
type Approvals struct {
	// Required is how many distinct approvals a release needs, 1 to MaxRequired.
	Required int
	// RollbackRequired is how many a rollback needs, 1 to MaxRequired; the
	// same as Required unless configured.
	RollbackRequired int
	// Approvers are the users and user groups who may approve; never empty, no duplicates.
	Approvers []Approver
	// AllowSelfApproval lets the proposer approve their own release.
	AllowSelfApproval bool
	// ExpireAfter is how long an approval stays valid.
	ExpireAfter Duration
	// Nudges are who is told of a proposed release, and reminded.
	Nudges
}

// Notify is how the approvers hear of a proposed release (approvals.notify).
type Notify string

const (
	// NotifyDM sends each approver a direct message with a link to the release.
	NotifyDM Notify = "dm"
	// NotifyChannel mentions the approvers once in the release's thread.
	NotifyChannel Notify = "channel"
	// NotifyNone tells nobody beyond the release's message.
	NotifyNone Notify = "none"
)

func parseNotify(s string) (Notify, error) {
	if n := Notify(s); n == NotifyDM || n == NotifyChannel || n == NotifyNone {
		return n, nil
	}
	return "", errors.New("must be dm, channel or none, not " + quote(s))
}

// Nudges are a pipeline's notices to its approvers: at propose, a reminder
// and an escalation, each at most once per release.
type Nudges struct {
	// Notify is how the approvers hear of a proposal; NotifyDM unless configured.
	Notify Notify
	// RemindAfter is how long after the proposal the approvers who have not
	// decided are reminded (in the thread, and by DM when Notify is dm); 0 for never.
	RemindAfter Duration
	// EscalateAfter is how long after the proposal EscalateTo is pinged in
	// the thread; 0 for never.
	EscalateAfter Duration
	// EscalateTo are the users and user groups pinged; set exactly when EscalateAfter is.
	EscalateTo []Approver
}

// Evidence is where a release's evidence is recorded in Kosli.
type Evidence struct {
	// Flow is the Kosli flow with one trail per release.
	Flow string
	// Control is the Kosli control (its identifier, e.g. "release-approved")
	// a release's decision is recorded for, per artifact. Empty records no
	// decisions, and nothing in Kosli then requires an approval.
	Control string
	// Timeout bounds how long a dispatch waits for Kosli to record the
	// decisions; past it the release ends as evidence_failed.
	Timeout Duration
}

// Workflow is the GitHub Actions workflow that deploys a release.
type Workflow struct {
	Repo Repo
	// File is the workflow's file name in .github/workflows, e.g. promote.yml.
	File string
	// Ref is the branch or tag the workflow is dispatched on.
	Ref    string
	Matrix Matrix
	// Timeout is how long a run may take before the release is marked timed out.
	Timeout Duration
}

// Verify is the check, after a deploy, that the target runs the new artifacts.
type Verify struct {
	// Timeout is how long to wait for Kosli to see the new fingerprints.
	Timeout Duration
}

// DriftReport is a scheduled report of what waits to be released.
type DriftReport struct {
	Schedule Schedule
	// QuietWhenEmpty skips the report when nothing is waiting.
	QuietWhenEmpty bool
	// StaleAfter is how long an artifact may wait before the report flags it.
	StaleAfter Duration
}

// Load reads and parses the file at path; errors name it as given.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		cause := err
		var pathErr *fs.PathError
		if errors.As(err, &pathErr) {
			cause = pathErr.Err
		}
		return nil, &Error{File: path, Rule: "cannot read the file: " + cause.Error(), err: err}
	}
	return Parse(path, data)
}

// Parse parses a configuration file's contents. name is used in errors
// only, usually the file's path.
func Parse(name string, data []byte) (*Config, error) {
	p := &problems{file: name}
	raw, nodes, ok := decode(p, data)
	if !ok {
		return nil, p.err()
	}
	v := validator{p: p, nodes: nodes}
	cfg := v.config(&raw)
	if err := p.err(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// Pipeline returns the pipeline called name.
func (c *Config) Pipeline(name string) (*Pipeline, bool) {
	for _, p := range c.Pipelines {
		if p.Name == name {
			return p, true
		}
	}
	return nil, false
}

// Freezes are the windows that apply to p: the settings' first, then its own.
func (c *Config) Freezes(p *Pipeline) []Freeze {
	return append(slices.Clip(c.Settings.Freezes), p.Freezes...)
}

// PipelinesInChannel returns the pipelines driven from a channel, in file
// order; several pipelines may share one channel.
func (c *Config) PipelinesInChannel(channelID ChannelID) []*Pipeline {
	var in []*Pipeline
	for _, p := range c.Pipelines {
		if p.Channel == channelID {
			in = append(in, p)
		}
	}
	return in
}

// HasWorkflows reports whether some pipeline dispatches a GitHub workflow,
// and so whether GitHub credentials are needed.
func (c *Config) HasWorkflows() bool {
	for _, p := range c.Pipelines {
		if p.Workflow != nil {
			return true
		}
	}
	return false
}

// MaxTicketLength bounds a change ticket whatever the pattern allows.
const MaxTicketLength = 64

// Check refuses a ticket the pipeline does not take: missing where one is
// required, too long, or not matching the pattern. "" with no ticket
// required is fine. The error is one line people can act on.
func (c *ChangeTicket) Check(ticket string) error {
	switch {
	case c == nil && ticket == "":
		return nil
	case c == nil:
		return errors.New("this pipeline takes no change ticket; leave out --ticket")
	case ticket == "" && c.Required:
		return errors.New("this pipeline needs a change ticket: add --ticket, matching " + c.Pattern.String())
	case ticket == "":
		return nil
	case len(ticket) > MaxTicketLength || !c.Pattern.MatchString(ticket):
		return errors.New("the change ticket must match " + c.Pattern.String())
	}
	return nil
}

// Link is the ticket's page, or "" when no url is configured. The ticket
// is path-escaped into the template.
func (c *ChangeTicket) Link(ticket string) string {
	if c == nil || c.URL == "" || ticket == "" {
		return ""
	}
	return strings.ReplaceAll(c.URL, TicketPlaceholder, url.PathEscape(ticket))
}
