package release

import (
	"fmt"
	"strings"
	"time"
)

// PlanOptions configures Compute.
type PlanOptions struct {
	// Links builds snapshot links with the configured Kosli host and org.
	Links Links
	// Services, when not empty, keeps only these services: a name matches flow NAME or NAME-ci.
	Services []string
	// Now is the moment waits are measured to; zero means waits are not computed.
	Now time.Time
}

// Plan is everything a person needs to decide on a release from one
// environment to another: what would be promoted, what blocks it, what waits.
type Plan struct {
	Source SnapshotRef `json:"source"`
	Target SnapshotRef `json:"target"`
	// Promotions are the artifacts to promote, in the order of the source snapshot.
	Promotions []Promotion `json:"promotions"`
	// Blockers refuse the release (deployment in progress, repository changed) or
	// leave one artifact out (no provenance). See Blocker.Refuses.
	Blockers []Blocker `json:"blockers"`
	// Leaving are services running only in the target: a release leaves them as they are.
	Leaving []Service `json:"leaving"`
	// Unchanged counts the artifacts running in both environments.
	Unchanged int `json:"unchanged"`
}

// Promotion is one artifact to promote and the artifact it replaces.
type Promotion struct {
	// Service is the flow without its "-ci" suffix, e.g. "saver".
	Service  string       `json:"service"`
	Incoming ArtifactInfo `json:"incoming"`
	// Outgoing is nil for a new service.
	Outgoing *ArtifactInfo `json:"outgoing,omitempty"`
	// DiffURL is the compare link, or a commit link when there is nothing to compare with.
	DiffURL string `json:"diff_url"`
	// Waited is how long the incoming artifact has run in the source environment.
	Waited time.Duration `json:"waited_ns"`
	// RepoMoved is true when the repository moved to another host between the two builds.
	RepoMoved bool `json:"repo_moved,omitempty"`
}

// New reports whether the service does not run in the target yet.
func (p Promotion) New() bool { return p.Outgoing == nil }

// ArtifactInfo is one side of a promotion.
type ArtifactInfo struct {
	SnapshotID  string    `json:"snapshot_id"`
	SnapshotURL string    `json:"snapshot_url"`
	ImageName   string    `json:"image_name"`
	Fingerprint string    `json:"fingerprint"`
	Flow        string    `json:"flow"`
	Commit      Commit    `json:"commit"`
	Since       time.Time `json:"since"`
}

// Service is a service seen in one environment only.
type Service struct {
	Name        string `json:"name"`
	Flow        string `json:"flow"`
	ImageName   string `json:"image_name"`
	Fingerprint string `json:"fingerprint"`
	CommitSHA   string `json:"commit_sha"`
}

// BlockerKind names what stands in a release's way.
type BlockerKind string

// Blocker kinds.
const (
	// DeploymentInProgress: a flow runs more than one artifact in one environment.
	DeploymentInProgress BlockerKind = "deployment_in_progress"
	// RepoChanged: one flow's repository URL differs between the environments on the same host.
	RepoChanged BlockerKind = "repo_changed"
	// NoProvenance: an incoming artifact has no flow or commit; it is left out.
	NoProvenance BlockerKind = "no_provenance"
)

// Blocker is one reason a release cannot go, or one artifact that cannot.
type Blocker struct {
	Kind BlockerKind `json:"kind"`
	// SnapshotID is the environment snapshot the blocker was seen in.
	SnapshotID string `json:"snapshot_id,omitempty"`
	// Flows are the flows deploying (DeploymentInProgress) or the flow whose repo changed.
	Flows       []string `json:"flows,omitempty"`
	IncomingURL string   `json:"incoming_repo_url,omitempty"`
	OutgoingURL string   `json:"outgoing_repo_url,omitempty"`
	// ImageName and Fingerprint name the artifact left out (NoProvenance).
	ImageName   string `json:"image_name,omitempty"`
	Fingerprint string `json:"fingerprint,omitempty"`
}

// Refuses reports whether the blocker stops the whole release rather than one artifact.
func (b Blocker) Refuses() bool { return b.Kind != NoProvenance }

// Lines is the blocker as cyber-dojo's promotion script words it on stderr,
// so that `bot plan` can replace that script in an existing workflow.
func (b Blocker) Lines() []string {
	switch b.Kind {
	case DeploymentInProgress:
		quoted := make([]string, len(b.Flows))
		for i, f := range b.Flows {
			quoted[i] = pyRepr(f)
		}
		return []string{
			"ERROR: A blue-green deployment is in progress in " + b.SnapshotID,
			"ERROR: For [" + strings.Join(quoted, ", ") + "]",
		}
	case RepoChanged:
		return []string{
			"ERROR: In Flow " + strings.Join(b.Flows, ", ") + " repo_url entries are different.",
			"ERROR: Incoming repo_url=" + b.IncomingURL,
			"ERROR: Outgoing repo_url=" + b.OutgoingURL,
		}
	default:
		return []string{"WARNING: " + b.String()}
	}
}

// String is the blocker in one sentence.
func (b Blocker) String() string {
	switch b.Kind {
	case DeploymentInProgress:
		return fmt.Sprintf("a deployment is in progress in %s for %s", b.SnapshotID, strings.Join(b.Flows, ", "))
	case RepoChanged:
		return fmt.Sprintf("flow %s was built from %s in one environment and %s in the other", strings.Join(b.Flows, ", "), b.IncomingURL, b.OutgoingURL)
	case NoProvenance:
		return fmt.Sprintf("%s (%s) in %s has no provenance in Kosli (no flow or commit): it cannot be promoted", b.ImageName, shortFP(b.Fingerprint), b.SnapshotID)
	}
	return string(b.Kind)
}

// Refused reports whether any blocker stops the whole release.
func (p *Plan) Refused() bool {
	for _, b := range p.Blockers {
		if b.Refuses() {
			return true
		}
	}
	return false
}

// Refusals returns the blockers that stop the whole release.
func (p *Plan) Refusals() []Blocker {
	var out []Blocker
	for _, b := range p.Blockers {
		if b.Refuses() {
			out = append(out, b)
		}
	}
	return out
}

// Skipped returns the artifacts left out for lack of provenance.
func (p *Plan) Skipped() []Blocker {
	var out []Blocker
	for _, b := range p.Blockers {
		if !b.Refuses() {
			out = append(out, b)
		}
	}
	return out
}

// ServiceName is the service a flow deploys: the flow without its "-ci" suffix.
func ServiceName(flow string) string { return strings.TrimSuffix(flow, "-ci") }

// Compute turns an environment diff into a plan, following cyber-dojo's
// promotion rules (see reference/kosli-api.md) and going beyond them where they
// are narrow: any git host, artifacts without provenance, a configurable Kosli host.
func Compute(d *Diff, opts PlanOptions) Plan {
	p := Plan{
		Source:    ParseSnapshotID(d.Source.SnapshotID),
		Target:    ParseSnapshotID(d.Target.SnapshotID),
		Unchanged: len(d.Changed.Artifacts) + len(d.NotChanged.Artifacts),
	}
	t, sourceFlows, targetFlows := countFlows(d, p.Unchanged)
	p.Blockers = deploymentsInProgress(d, t)
	keep := serviceFilter(opts.Services)
	p.addPromotions(d, opts, t, sourceFlows, keep)
	p.Leaving = leaving(d, t, targetFlows, keep)
	return p
}

// countFlows makes the one table of flows that serves every rule of
// Compute: how often each flow runs in the source, the target and both, and
// which target artifact it has. Each artifact's flow is looked up once;
// sourceFlows and targetFlows hold its index (-1: no provenance).
func countFlows(d *Diff, unchanged int) (t *flowTable, sourceFlows, targetFlows []int32) {
	t = newFlowTable(len(d.Source.Artifacts) + len(d.Target.Artifacts) + unchanged)
	for _, l := range [][]Artifact{d.Changed.Artifacts, d.NotChanged.Artifacts} {
		for i := range l {
			if l[i].HasProvenance() {
				t.at(l[i].Flow).common++
			}
		}
	}
	targetFlows = make([]int32, len(d.Target.Artifacts))
	for i := range d.Target.Artifacts {
		targetFlows[i] = -1
		if a := &d.Target.Artifacts[i]; a.HasProvenance() {
			fi := t.indexOf(a.Flow)
			f := &t.counts[fi]
			if f.target++; f.outgoing == nil {
				f.outgoing = a
			}
			targetFlows[i] = fi
		}
	}
	sourceFlows = make([]int32, len(d.Source.Artifacts))
	for i := range d.Source.Artifacts {
		sourceFlows[i] = -1
		if a := &d.Source.Artifacts[i]; a.HasProvenance() {
			fi := t.indexOf(a.Flow)
			t.counts[fi].source++
			sourceFlows[i] = fi
		}
	}
	return t, sourceFlows, targetFlows
}

// deploymentsInProgress are the blockers of flows running twice in one
// environment: a blue-green deployment is under way there. Artifacts
// without provenance all share the empty flow, so they cannot tell us
// anything and are not counted.
func deploymentsInProgress(d *Diff, t *flowTable) []Blocker {
	var blockers []Blocker
	sourceTotal := func(f *flowCount) int { return f.source + f.common }
	targetTotal := func(f *flowCount) int { return f.target + f.common }
	if t.any(sourceTotal) {
		flows := t.duplicates(sourceTotal, d.Source.Artifacts, d.Changed.Artifacts, d.NotChanged.Artifacts)
		blockers = append(blockers, Blocker{Kind: DeploymentInProgress, SnapshotID: d.Source.SnapshotID, Flows: flows})
	}
	if t.any(targetTotal) {
		flows := t.duplicates(targetTotal, d.Target.Artifacts, d.Changed.Artifacts, d.NotChanged.Artifacts)
		blockers = append(blockers, Blocker{Kind: DeploymentInProgress, SnapshotID: d.Target.SnapshotID, Flows: flows})
	}
	return blockers
}

// addPromotions adds a promotion for each flow's first incoming artifact
// that keep keeps, in the order of the source snapshot, and a blocker for
// each artifact without provenance (when every service is asked for).
func (p *Plan) addPromotions(d *Diff, opts PlanOptions, t *flowTable, sourceFlows []int32, keep func(flow string) bool) {
	sourceLink, targetLink := opts.Links.artifactLinker(p.Source), opts.Links.artifactLinker(p.Target)
	p.Promotions = make([]Promotion, 0, len(d.Source.Artifacts))
	for i := range d.Source.Artifacts {
		a := &d.Source.Artifacts[i]
		if sourceFlows[i] < 0 {
			if keep == nil {
				p.Blockers = append(p.Blockers, Blocker{Kind: NoProvenance, SnapshotID: d.Source.SnapshotID, ImageName: a.Name, Fingerprint: a.Fingerprint})
			}
			continue
		}
		f := &t.counts[sourceFlows[i]]
		if f.promoted {
			continue // a deployment in progress, already refused above
		}
		f.promoted = true
		if keep != nil && !keep(a.Flow) {
			continue
		}
		pr := Promotion{Service: ServiceName(a.Flow), Incoming: info(a, p.Source.ID, sourceLink)}
		if a.MostRecentTimestamp > 0 && !opts.Now.IsZero() {
			pr.Waited = max(opts.Now.Sub(pr.Incoming.Since), 0)
		}
		p.link(d, &pr, a.Flow, f.outgoing, targetLink)
		p.Promotions = append(p.Promotions, pr)
	}
}

// link sets what pr replaces (outgoing, nil for a new service) and the link
// to its changes; a repository that changed on the same host is a blocker.
func (p *Plan) link(d *Diff, pr *Promotion, flow string, outgoing *Artifact, targetLink func(fingerprint string) string) {
	in := pr.Incoming.Commit
	if outgoing == nil {
		pr.DiffURL = in.Link()
		return
	}
	oi := info(outgoing, p.Target.ID, targetLink)
	pr.Outgoing = &oi
	out := oi.Commit
	switch {
	case in.Host != out.Host:
		pr.RepoMoved = true
		pr.DiffURL = in.Link()
	case in.RepoURL != out.RepoURL:
		p.Blockers = append(p.Blockers, Blocker{Kind: RepoChanged, SnapshotID: d.Source.SnapshotID, Flows: []string{flow}, IncomingURL: in.RepoURL, OutgoingURL: out.RepoURL})
		pr.DiffURL = in.Link()
	default:
		pr.DiffURL = CompareURL(out, in)
		if pr.DiffURL == "" {
			pr.DiffURL = in.URL
		}
	}
}

// leaving are the services running only in the target, that keep keeps: a
// release leaves them as they are.
func leaving(d *Diff, t *flowTable, targetFlows []int32, keep func(flow string) bool) []Service {
	var out []Service
	for i := range d.Target.Artifacts {
		a := &d.Target.Artifacts[i]
		if targetFlows[i] >= 0 && t.counts[targetFlows[i]].source > 0 {
			continue
		}
		if keep != nil && !keep(a.Flow) {
			continue
		}
		out = append(out, Service{
			Name: ServiceName(a.Flow), Flow: a.Flow, ImageName: a.Name, Fingerprint: a.Fingerprint,
			CommitSHA: ParseCommitURL(a.CommitURL).SHA,
		})
	}
	return out
}

// flowCount is what the planner knows of one flow.
type flowCount struct {
	source, target, common int
	// outgoing is the flow's first artifact in the target.
	outgoing *Artifact
	// promoted marks the flow's first incoming artifact as taken.
	promoted bool
	// reported marks the flow as listed by the current duplicates call.
	reported int
}

// flowTable indexes flowCounts by flow name: one map lookup per artifact and
// rule, counts stored contiguously.
type flowTable struct {
	index  map[string]int32
	counts []flowCount
	pass   int
}

func newFlowTable(n int) *flowTable {
	return &flowTable{index: make(map[string]int32, n), counts: make([]flowCount, 0, n)}
}

func (t *flowTable) indexOf(flow string) int32 {
	i, ok := t.index[flow]
	if !ok {
		i = int32(len(t.counts))
		t.index[flow] = i
		t.counts = append(t.counts, flowCount{})
	}
	return i
}

func (t *flowTable) at(flow string) *flowCount { return &t.counts[t.indexOf(flow)] }

// any reports whether some flow's count, as total reads it, is more than one.
func (t *flowTable) any(total func(*flowCount) int) bool {
	for i := range t.counts {
		if total(&t.counts[i]) > 1 {
			return true
		}
	}
	return false
}

// duplicates lists, in order of first appearance in lists, the flows whose
// count (as total reads it) is more than one.
func (t *flowTable) duplicates(total func(*flowCount) int, lists ...[]Artifact) []string {
	t.pass++
	var dups []string
	for _, l := range lists {
		for i := range l {
			if !l[i].HasProvenance() {
				continue
			}
			if f := t.at(l[i].Flow); total(f) > 1 && f.reported != t.pass {
				f.reported = t.pass
				dups = append(dups, l[i].Flow)
			}
		}
	}
	return dups
}

func info(a *Artifact, snapshotID string, link func(fingerprint string) string) ArtifactInfo {
	ai := ArtifactInfo{
		SnapshotID:  snapshotID,
		SnapshotURL: link(a.Fingerprint),
		ImageName:   a.Name,
		Fingerprint: a.Fingerprint,
		Flow:        a.Flow,
		Commit:      ParseCommitURL(a.CommitURL),
	}
	if a.MostRecentTimestamp > 0 {
		ai.Since = time.Unix(int64(a.MostRecentTimestamp), 0).UTC()
	}
	return ai
}

// serviceFilter returns nil (keep all) or a matcher for flow NAME or NAME-ci.
func serviceFilter(services []string) func(flow string) bool {
	if len(services) == 0 {
		return nil
	}
	set := make(map[string]struct{}, 2*len(services))
	for _, s := range services {
		set[s] = struct{}{}
		set[s+"-ci"] = struct{}{}
	}
	return func(flow string) bool { _, ok := set[flow]; return ok }
}

func shortFP(fp string) string {
	if len(fp) > 12 {
		return fp[:12]
	}
	return fp
}

// pyRepr quotes a string the way Python's repr does for the simple names flows have.
func pyRepr(s string) string {
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		return `"` + s + `"`
	}
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
}
