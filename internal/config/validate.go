package config

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

var (
	pipelineNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,30}$`)
	// kosliNamePattern is Kosli's rule for flow and environment names.
	kosliNamePattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9.\-_~]*$`)
	teamIDPattern    = regexp.MustCompile(`^[TE][A-Z0-9]{2,}$`)
	appIDPattern     = regexp.MustCompile(`^A[A-Z0-9]{2,}$`)
)

// validator turns raw values into typed ones, adding a problem for each
// value that breaks a rule. Values the shape check already refused (a list
// where a value belongs) are skipped here, so each mistake is told once.
type validator struct {
	p     *problems
	nodes map[string]*yaml.Node
}

func (v *validator) config(raw *rawFile) *Config {
	cfg := &Config{Settings: v.settings(raw.Settings)}
	if v.emptyList("pipelines") {
		v.p.add(v.line("pipelines"), "pipelines", "must list at least one pipeline")
	}
	names := map[string]int{}
	for i, rp := range raw.Pipelines {
		if rp == nil {
			continue // an empty list item, already reported
		}
		path := "pipelines[" + strconv.Itoa(i) + "]"
		p := v.pipeline(rp, path)
		if p.Name != "" {
			if first, dup := names[p.Name]; dup {
				v.p.add(v.line(path+".name"), path+".name", fmt.Sprintf("%s is already the name of pipelines[%d]", quote(p.Name), first))
			} else {
				names[p.Name] = i
			}
		}
		cfg.Pipelines = append(cfg.Pipelines, p)
	}
	return cfg
}

func (v *validator) settings(r *rawSettings) Settings {
	s := Settings{Retention: DefaultRetention, WorkingAfter: DefaultWorkingAfter,
		Redis: Redis{MinReplicasAcked: -1, WaitTimeout: DefaultWaitTimeout}}
	if r == nil {
		return s
	}
	s.TeamID = v.match(&r.TeamID, "settings.team_id", teamIDPattern, "must be a Slack team id like T0123ABCD")
	s.AppID = v.match(&r.AppID, "settings.app_id", appIDPattern, "must be a Slack app id like A0123ABCD")
	s.Retention = v.duration(&r.Retention, "settings.retention", s.Retention)
	s.WorkingAfter = v.duration(&r.WorkingAfter, "settings.working_after", s.WorkingAfter)
	if r.Redis != nil {
		s.Redis = v.redis(r.Redis, "settings.redis", s.Redis)
	}
	s.Freezes = v.freezes(r.Freezes, "settings.freezes")
	return s
}

func (v *validator) redis(r *rawRedis, path string, def Redis) Redis {
	def.MinReplicasAcked = v.count(&r.MinReplicasAcked, path+".min_replicas_acked", 0, MaxReplicasAcked, "must be 0 or more", def.MinReplicasAcked)
	if d := v.duration(&r.WaitTimeout, path+".wait_timeout", def.WaitTimeout); d > MaxWaitTimeout {
		v.p.add(v.line(path+".wait_timeout"), path+".wait_timeout",
			"must be at most 2s: it shares the Redis client's 3s read timeout, not "+quote(resolve(&r.WaitTimeout).Value))
	} else {
		def.WaitTimeout = d
	}
	return def
}

func (v *validator) pipeline(r *rawPipeline, path string) *Pipeline {
	p := &Pipeline{Gate: GateEnforce}
	p.Name = v.required(&r.Name, path+".name", pipelineNamePattern,
		"must be 1 to 31 lowercase letters, digits and '-', starting with a letter or digit")
	const envRule = "must be a Kosli environment name (letters, digits, '.', '-', '_' and '~')"
	p.From = v.required(&r.From, path+".from", kosliNamePattern, envRule)
	p.To = v.required(&r.To, path+".to", kosliNamePattern, envRule)
	if p.From != "" && p.From == p.To {
		v.p.add(v.line(path+".to"), path+".to", "must not be the same environment as from ("+quote(p.From)+")")
	}
	p.Channel, _ = parse(v, &r.Channel, path+".channel", true, ParseChannelID)
	p.Approvals = v.approvals(r.Approvals, path+".approvals")

	p.Evidence.Flow = p.Name + DefaultFlowSuffix
	p.Evidence.Timeout = DefaultEvidenceTimeout
	if r.Evidence != nil {
		if flow := v.match(&r.Evidence.Flow, path+".evidence.flow", kosliNamePattern,
			"must be a Kosli flow name (letters, digits, '.', '-', '_' and '~')"); flow != "" {
			p.Evidence.Flow = flow
		}
		p.Evidence.Control = v.match(&r.Evidence.Control, path+".evidence.control", kosliNamePattern,
			"must be a Kosli control identifier (letters, digits, '.', '-', '_' and '~')")
		p.Evidence.Timeout = v.duration(&r.Evidence.Timeout, path+".evidence.timeout", DefaultEvidenceTimeout)
	}
	if p.Name == "" {
		p.Evidence.Flow = ""
	}
	if r.Workflow != nil {
		p.Workflow = v.workflow(r.Workflow, path+".workflow")
	}
	p.Verify.Timeout = DefaultVerifyTime
	if r.Verify != nil {
		p.Verify.Timeout = v.duration(&r.Verify.Timeout, path+".verify.timeout", DefaultVerifyTime)
	}
	p.Gate, p.MinSoak = v.gate(&r.Gate, path+".gate")
	if r.ChangeTicket != nil {
		p.ChangeTicket = v.changeTicket(r.ChangeTicket, path+".change_ticket")
	}
	if r.DriftReport != nil {
		p.DriftReport = v.driftReport(r.DriftReport, path+".drift_report")
	}
	p.Freezes = v.freezes(r.Freezes, path+".freezes")
	if r.BreakGlass != nil {
		p.BreakGlass = v.breakGlass(r.BreakGlass, path+".break_glass")
	}
	return p
}

// gate reads "gate: warn" or "gate: {mode: warn, min_soak: 2h}"; errors in
// the scalar form name "gate" as before.
func (v *validator) gate(r *rawGate, path string) (Gate, Duration) {
	g, modePath := GateEnforce, path+".mode"
	if n, ok := v.nodes[path]; ok && n.Kind == yaml.ScalarNode {
		modePath = path
	}
	if m, ok := parse(v, &r.Mode, modePath, false, parseGate); ok {
		g = m
	}
	return g, v.duration(&r.MinSoak, path+".min_soak", 0)
}

func (v *validator) changeTicket(r *rawChangeTicket, path string) *ChangeTicket {
	c := &ChangeTicket{Required: v.boolean(&r.Required, path+".required")}
	if s, line, ok := v.text(&r.Pattern, path+".pattern", true); ok {
		re, err := regexp.Compile(s)
		switch {
		case err != nil:
			v.p.add(line, path+".pattern", "must be a regular expression (RE2 syntax): "+err.Error())
		case !strings.HasPrefix(s, "^") || !strings.HasSuffix(s, "$"):
			v.p.add(line, path+".pattern", "must match the whole ticket: start it with ^ and end it with $, not "+quote(s))
		default:
			c.Pattern = re
		}
	}
	if s, line, ok := v.text(&r.URL, path+".url", false); ok {
		if u, err := url.Parse(strings.ReplaceAll(s, TicketPlaceholder, "x")); err != nil || u.Scheme != "https" || u.Host == "" ||
			!strings.Contains(s, TicketPlaceholder) {
			v.p.add(line, path+".url", "must be an https:// link with "+TicketPlaceholder+" where the ticket goes, not "+quote(s))
		} else {
			c.URL = s
		}
	}
	return c
}

func (v *validator) approvals(r *rawApprovals, path string) Approvals {
	a := Approvals{Required: DefaultRequired, ExpireAfter: DefaultExpireAfter}
	if r == nil {
		r = &rawApprovals{}
		if v.present(path) {
			return a // not a mapping, already reported
		}
	}
	a.Required = v.count(&r.Required, path+".required", 1, MaxRequired, "must be at least 1", a.Required)
	a.RollbackRequired = v.count(&r.RollbackRequired, path+".rollback_required", 1, MaxRequired,
		"must be at least 1 (a rollback that must ship at once is a break-glass release)", a.Required)
	a.Approvers = v.approvers(r.Approvers, path, "approvers")
	for _, k := range []struct {
		key string
		n   int
	}{{"required", a.Required}, {"rollback_required", a.RollbackRequired}} {
		if users := len(a.Approvers); users > 0 && users < k.n && !hasHandle(a.Approvers) && v.present(path+"."+k.key) {
			v.p.add(v.line(path+"."+k.key), path+"."+k.key,
				fmt.Sprintf("must be at most %d, the number of users in approvers (it lists no user group)", users))
		}
	}
	a.AllowSelfApproval = v.boolean(&r.AllowSelfApproval, path+".allow_self_approval")
	a.ExpireAfter = v.duration(&r.ExpireAfter, path+".expire_after", a.ExpireAfter)
	a.Nudges = v.nudges(r, path, a.ExpireAfter)
	return a
}

// nudges reads notify, remind_after, escalate_after and escalate_to. A
// nudge due at or after expire_after could never fire: the release has
// expired by then.
func (v *validator) nudges(r *rawApprovals, path string, expire Duration) Nudges {
	n := Nudges{Notify: NotifyDM}
	if m, ok := parse(v, &r.Notify, path+".notify", false, parseNotify); ok {
		n.Notify = m
	}
	n.RemindAfter = v.nudgeAfter(&r.RemindAfter, path+".remind_after", expire)
	n.EscalateAfter = v.nudgeAfter(&r.EscalateAfter, path+".escalate_after", expire)
	escalateTo := path + ".escalate_to"
	if v.present(escalateTo) {
		n.EscalateTo = v.approvers(r.EscalateTo, path, "escalate_to")
	}
	switch {
	case v.present(path+".escalate_after") && !v.present(escalateTo):
		v.p.add(v.line(path+".escalate_after"), path+".escalate_after", "needs escalate_to: the users or @user-groups to ping")
	case v.present(escalateTo) && !v.present(path+".escalate_after"):
		v.p.add(v.line(escalateTo), escalateTo, "needs escalate_after: how long a release waits before they are pinged")
	}
	return n
}

// nudgeAfter is an optional duration shorter than expire; 0 when absent or wrong.
func (v *validator) nudgeAfter(node *yaml.Node, field string, expire Duration) Duration {
	d := v.duration(node, field, 0)
	if d != 0 && d >= expire {
		v.p.add(v.line(field), field, fmt.Sprintf("must be shorter than expire_after (%s): the release expires first", expire))
		return 0
	}
	return d
}

// approvers reads a list of user ids and @group handles, which must not be
// empty, named key under path.
func (v *validator) approvers(nodes []yaml.Node, path, key string) []Approver {
	var list []Approver
	seen := map[Approver]int{}
	for i := range nodes {
		field := path + "." + key + "[" + strconv.Itoa(i) + "]"
		s, line, ok := v.text(&nodes[i], field, false)
		if !ok {
			continue
		}
		ap, err := ParseApprover(s)
		if err != nil {
			v.p.add(line, field, err.Error())
			continue
		}
		if first, dup := seen[ap]; dup {
			v.p.add(line, field, fmt.Sprintf("%s is already listed at %s[%d]", quote(s), key, first))
			continue
		}
		seen[ap] = i
		list = append(list, ap)
	}
	if v.emptyList(path + "." + key) {
		v.p.add(v.line(path+"."+key), path+"."+key, "must list at least one Slack user id or @user-group handle")
	}
	return list
}

func (v *validator) breakGlass(r *rawBreakGlass, path string) *BreakGlass {
	b := &BreakGlass{Required: DefaultBreakGlassRequired, ReviewWithin: DefaultReviewWithin}
	b.Allowed = v.approvers(r.Allowed, path, "allowed")
	b.Required = v.count(&r.Required, path+".required", 0, MaxRequired, "must be 0 (ship at once) or more", b.Required)
	b.ReviewWithin = v.duration(&r.ReviewWithin, path+".review_within", b.ReviewWithin)
	return b
}

// count reads an integer field from lo to hi (below is the rule broken
// under lo); def when it is absent or wrong, the problem reported.
func (v *validator) count(node *yaml.Node, field string, lo, hi int, below string, def int) int {
	n, line, ok := v.integer(node, field)
	switch {
	case !ok:
	case n < lo:
		v.p.add(line, field, below)
	case n > hi:
		v.p.add(line, field, "must be at most "+strconv.Itoa(hi))
	default:
		return n
	}
	return def
}

// freezes reads a list of freeze windows; names are unique within it.
func (v *validator) freezes(raw []*rawFreeze, path string) []Freeze {
	var list []Freeze
	names := map[string]int{}
	for i, r := range raw {
		if r == nil {
			continue // an empty list item, already reported
		}
		field := path + "[" + strconv.Itoa(i) + "]"
		f, ok := v.freeze(r, field)
		if f.Name != "" {
			if first, dup := names[f.Name]; dup {
				v.p.add(v.line(field+".name"), field+".name", fmt.Sprintf("%s is already the name of %s[%d]", quote(f.Name), path[strings.LastIndex(path, ".")+1:], first))
				continue
			}
			names[f.Name] = i
		}
		if ok {
			list = append(list, f)
		}
	}
	return list
}

// freeze reads one window: start and duration, or from and until.
func (v *validator) freeze(r *rawFreeze, path string) (Freeze, bool) {
	var f Freeze
	before := len(v.p.list)
	f.Name = v.shortText(&r.Name, path+".name", MaxFreezeName)
	f.Reason = v.shortText(&r.Reason, path+".reason", MaxFreezeReason)
	recurring := v.present(path+".start") || v.present(path+".duration")
	oneOff := v.present(path+".from") || v.present(path+".until")
	switch {
	case recurring && oneOff:
		v.p.add(v.line(path), path, "has start and duration (a recurring window) or from and until (a one-off window), not both")
	case recurring:
		f.Start, _ = parse(v, &r.Start, path+".start", true, ParseSchedule)
		f.Duration, _ = parse(v, &r.Duration, path+".duration", true, ParseDuration)
	case oneOff:
		f.From, _ = parse(v, &r.From, path+".from", true, ParseTime)
		f.Until, _ = parse(v, &r.Until, path+".until", true, ParseTime)
		if !f.From.IsZero() && !f.Until.IsZero() && !f.Until.After(f.From) {
			v.p.add(v.line(path+".until"), path+".until", "must be after from ("+f.From.Format(time.RFC3339)+")")
		}
	default:
		v.p.add(v.line(path), path, "needs start and duration (a recurring window) or from and until (a one-off window)")
	}
	return f, len(v.p.list) == before
}

// shortText is a required single line of at most limit runes.
func (v *validator) shortText(n *yaml.Node, path string, limit int) string {
	s, line, ok := v.text(n, path, true)
	if !ok {
		return ""
	}
	s = strings.TrimSpace(s)
	switch {
	case strings.ContainsAny(s, "\r\n"):
		v.p.add(line, path, "must be one line")
		return ""
	case utf8.RuneCountInString(s) > limit:
		v.p.add(line, path, fmt.Sprintf("must be at most %d characters", limit))
		return ""
	}
	return s
}

func hasHandle(as []Approver) bool {
	for _, a := range as {
		if a.Handle != "" {
			return true
		}
	}
	return false
}

func (v *validator) workflow(r *rawWorkflow, path string) *Workflow {
	w := &Workflow{Ref: DefaultRef, Matrix: MatrixDefault, Timeout: DefaultWorkflowTime}
	w.Repo, _ = parse(v, &r.Repo, path+".repo", true, ParseRepo)
	w.File, _ = parse(v, &r.File, path+".file", true, parseWorkflowFile)
	if ref, ok := parse(v, &r.Ref, path+".ref", false, parseRef); ok {
		w.Ref = ref
	}
	if m, ok := parse(v, &r.Matrix, path+".matrix", false, parseMatrix); ok {
		w.Matrix = m
	}
	w.Timeout = v.duration(&r.Timeout, path+".timeout", w.Timeout)
	return w
}

func (v *validator) driftReport(r *rawDriftReport, path string) *DriftReport {
	d := &DriftReport{StaleAfter: DefaultStaleAfter}
	d.Schedule, _ = parse(v, &r.Schedule, path+".schedule", true, ParseSchedule)
	d.QuietWhenEmpty = v.boolean(&r.QuietWhenEmpty, path+".quiet_when_empty")
	d.StaleAfter = v.duration(&r.StaleAfter, path+".stale_after", d.StaleAfter)
	return d
}

// text returns a single value's text. ok is false when there is nothing to
// check: the field is absent, null or "" (reported as "is required" when
// required), or it is not a single value (reported by the shape check).
func (v *validator) text(n *yaml.Node, path string, required bool) (s string, line int, ok bool) {
	n = resolve(n)
	switch {
	case isNull(n) || n.Kind == yaml.ScalarNode && n.Value == "":
		if required {
			v.p.add(v.line(path), path, "is required")
		}
		return "", 0, false
	case n.Kind != yaml.ScalarNode:
		return "", 0, false
	}
	return n.Value, n.Line, true
}

// required returns a required value that must match re; "" when it does not.
func (v *validator) required(n *yaml.Node, path string, re *regexp.Regexp, rule string) string {
	return v.check(n, path, true, re, rule)
}

// match returns an optional value that must match re; "" when absent or not matching.
func (v *validator) match(n *yaml.Node, path string, re *regexp.Regexp, rule string) string {
	return v.check(n, path, false, re, rule)
}

func (v *validator) check(n *yaml.Node, path string, required bool, re *regexp.Regexp, rule string) string {
	s, line, ok := v.text(n, path, required)
	if !ok {
		return ""
	}
	if !re.MatchString(s) {
		v.p.add(line, path, rule+", not "+quote(s))
		return ""
	}
	return s
}

// parse reads a single value through fn, whose error text is the rule the
// value broke. ok is false when there was no usable value.
func parse[T any](v *validator, n *yaml.Node, path string, required bool, fn func(string) (T, error)) (t T, ok bool) {
	s, line, ok := v.text(n, path, required)
	if !ok {
		return t, false
	}
	t, err := fn(s)
	if err != nil {
		v.p.add(line, path, err.Error())
		return t, false
	}
	return t, true
}

func (v *validator) duration(n *yaml.Node, path string, def Duration) Duration {
	if d, ok := parse(v, n, path, false, ParseDuration); ok {
		return d
	}
	return def
}

// integer reads a whole number; "2" in quotes is a string, not a number.
func (v *validator) integer(n *yaml.Node, path string) (int, int, bool) {
	s, line, ok := v.text(n, path, false)
	if !ok {
		return 0, 0, false
	}
	var i int
	if resolve(n).ShortTag() != "!!int" || resolve(n).Decode(&i) != nil {
		v.p.add(line, path, "must be a whole number, not "+quote(s))
		return 0, 0, false
	}
	return i, line, true
}

func (v *validator) boolean(n *yaml.Node, path string) bool {
	s, line, ok := v.text(n, path, false)
	if !ok {
		return false
	}
	var b bool
	if resolve(n).ShortTag() != "!!bool" || resolve(n).Decode(&b) != nil {
		v.p.add(line, path, "must be true or false, not "+quote(s))
		return false
	}
	return b
}

// present reports whether the field is in the file with a value, even a
// malformed one.
func (v *validator) present(path string) bool {
	n, ok := v.nodes[path]
	return ok && !isNull(n)
}

// emptyList reports whether a list is absent, null or [] (and not malformed).
func (v *validator) emptyList(path string) bool {
	n, ok := v.nodes[path]
	return !ok || isNull(n) || n.Kind == yaml.SequenceNode && len(n.Content) == 0
}

// line is the line of the field, or of the nearest enclosing one in the
// file: a missing field is reported where it should have been.
func (v *validator) line(path string) int {
	for {
		if n, ok := v.nodes[path]; ok {
			return n.Line
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			if n, ok := v.nodes[""]; ok && path != "" {
				return n.Line
			}
			return 0
		}
		path = path[:i]
	}
}
