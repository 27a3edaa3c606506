package release

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// rollbackWorld is a release that replaced saver (v1 → v2) and runner
// (v1 → v2) and added web in aws-prod; before it aws-prod#7 ran saver v1,
// runner v1 and nginx, which the release left alone.
type rollbackWorld struct {
	saver1, saver2, runner1, runner2, web, nginx Artifact
}

func newRollbackWorld() rollbackWorld {
	art := func(flow, tag, digit string) Artifact {
		return Artifact{
			Fingerprint: strings.Repeat(digit, 64), Name: "ghcr.io/acme/" + flow + ":" + tag, Flow: flow + "-ci",
			CommitURL:           "https://github.com/acme/" + flow + "/commit/" + strings.Repeat(digit, 40),
			MostRecentTimestamp: 1740904271, InstanceCount: 2,
		}
	}
	return rollbackWorld{
		saver1: art("saver", "v1", "1"), saver2: art("saver", "v2", "2"),
		runner1: art("runner", "v1", "3"), runner2: art("runner", "v2", "4"),
		web: art("web", "v1", "5"), nginx: art("nginx", "v1", "6"),
	}
}

// release is the manifest of the release from aws-beta#40 to aws-prod#7.
func (w rollbackWorld) release(t *testing.T) *Manifest {
	t.Helper()
	d := &Diff{
		Source:     Side{SnapshotID: "aws-beta#40", Artifacts: []Artifact{w.saver2, w.runner2, w.web}},
		Target:     Side{SnapshotID: "aws-prod#7", Artifacts: []Artifact{w.saver1, w.runner1}},
		NotChanged: Group{Artifacts: []Artifact{w.nginx}},
	}
	p := Compute(d, PlanOptions{Links: exampleLinks})
	meta := exampleMeta()
	m, err := NewManifest(&p, meta)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// diff is Kosli's diff of aws-prod#7 against aws-prod now, which runs now.
func (w rollbackWorld) diff(before []Artifact, now ...Artifact) *Diff {
	d := &Diff{Source: Side{SnapshotID: "aws-prod#7"}, Target: Side{SnapshotID: "aws-prod#9"}}
	in := map[string]bool{}
	for _, a := range now {
		in[a.Fingerprint] = true
	}
	was := map[string]bool{}
	for _, a := range before {
		was[a.Fingerprint] = true
		if in[a.Fingerprint] {
			d.NotChanged.Artifacts = append(d.NotChanged.Artifacts, a)
		} else {
			d.Source.Artifacts = append(d.Source.Artifacts, a)
		}
	}
	for _, a := range now {
		if !was[a.Fingerprint] {
			d.Target.Artifacts = append(d.Target.Artifacts, a)
		}
	}
	return d
}

func TestPlanRollbackRestoresWhatRanBefore(t *testing.T) {
	t.Parallel()
	w := newRollbackWorld()
	of := w.release(t)
	d := w.diff([]Artifact{w.saver1, w.runner1, w.nginx}, w.saver2, w.runner2, w.web, w.nginx)
	rb, err := PlanRollback(d, of, PlanOptions{Links: exampleLinks, Now: time.Unix(1740904271, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if rb.Of != of.ReleaseID || len(rb.Added) != 1 || rb.Added[0] != "web" {
		t.Errorf("of %q, added %v", rb.Of, rb.Added)
	}
	p := rb.Plan
	if p.Source.ID != "aws-prod#7" || p.Target.ID != "aws-prod#9" || p.Refused() || len(p.Promotions) != 2 {
		t.Fatalf("plan %+v", p)
	}
	for i, want := range []struct{ in, out Artifact }{{w.saver1, w.saver2}, {w.runner1, w.runner2}} {
		pr := p.Promotions[i]
		if pr.Incoming.Fingerprint != want.in.Fingerprint || pr.Outgoing == nil || pr.Outgoing.Fingerprint != want.out.Fingerprint {
			t.Errorf("promotion %d: %+v", i, pr)
		}
	}
	// The web service the release added is neither promoted nor listed as leaving: it stays.
	if len(p.Leaving) != 0 {
		t.Errorf("leaving %+v", p.Leaving)
	}
	m, err := NewManifest(&p, ManifestMeta{ReleaseID: "prod-2025-03-03-1", RollbackOf: of.ReleaseID, Pipeline: "prod",
		CreatedAt: time.Unix(1740990000, 0), ProposerID: "U024BE7LH", ProposerName: "Ada", Evidence: exampleMeta().Evidence})
	if err != nil {
		t.Fatal(err)
	}
	data := mustValidate(t, m)
	back, err := VerifyManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	if back.RollbackOf != of.ReleaseID || back.Source.SnapshotID != "aws-prod#7" || back.Source.Environment != "aws-prod" ||
		back.Source.SnapshotURL != "https://app.kosli.com/cyber-dojo/environments/aws-prod/snapshots/7" {
		t.Errorf("rollback manifest: rollbackOf %q, source %+v", back.RollbackOf, back.Source)
	}
	// A manifest that is no rollback has no rollbackOf at all.
	if plain, _ := of.Marshal(); strings.Contains(string(plain), "rollbackOf") {
		t.Errorf("a release's manifest names rollbackOf:\n%s", plain)
	}
}

func TestPlanRollbackOnlyTouchesTheReleasesServices(t *testing.T) {
	t.Parallel()
	w := newRollbackWorld()
	of := w.release(t)
	// Since the release nginx moved on (v2) and runner was rolled back by hand.
	nginx2 := w.nginx
	nginx2.Fingerprint, nginx2.Name = strings.Repeat("7", 64), "ghcr.io/acme/nginx:v2"
	d := w.diff([]Artifact{w.saver1, w.runner1, w.nginx}, w.saver2, w.runner1, w.web, nginx2)
	rb, err := PlanRollback(d, of, PlanOptions{Links: exampleLinks})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(rb.Plan.Promotions); n != 1 || rb.Plan.Promotions[0].Service != "saver" {
		t.Fatalf("promotions %+v", rb.Plan.Promotions)
	}
}

func TestPlanRollbackRefuses(t *testing.T) {
	t.Parallel()
	w := newRollbackWorld()
	noProvenance := w.saver1
	noProvenance.Flow, noProvenance.CommitURL = "", ""
	cases := []struct {
		name string
		d    *Diff
		kind RollbackRefusalKind
		want string
	}{
		{"nothing would change", w.diff([]Artifact{w.saver1, w.runner1, w.nginx}, w.saver1, w.runner1, w.web, w.nginx),
			NothingToRestore, "Nothing would change: aws-prod already runs what it ran before prod-2025-03-02-1"},
		{"another snapshot", func() *Diff {
			d := w.diff([]Artifact{w.saver1, w.runner1}, w.saver2, w.runner2)
			d.Source.SnapshotID = "aws-prod#8"
			return d
		}(), SnapshotGone, "Kosli no longer has aws-prod#7, the snapshot of aws-prod that prod-2025-03-02-1 was planned against"},
		// An environment made anew reuses snapshot numbers: #7 is there but is not the snapshot the release saw.
		{"a snapshot by that number that is another", w.diff([]Artifact{w.nginx}, w.saver2, w.runner2, w.nginx),
			SnapshotGone, "aws-prod#7 in Kosli no longer holds saver (111111111111), which prod-2025-03-02-1 replaced"},
		{"an artifact Kosli no longer knows", w.diff([]Artifact{noProvenance, w.runner1, w.nginx}, w.saver2, w.runner2, w.nginx),
			ArtifactUnknown, "saver ran 111111111111 before prod-2025-03-02-1, and Kosli no longer knows that artifact"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			rb, err := PlanRollback(c.d, w.release(t), PlanOptions{Links: exampleLinks})
			var refusal *RollbackRefusal
			if !errors.As(err, &refusal) {
				t.Fatalf("got %+v, %v; want a refusal", rb, err)
			}
			if refusal.Kind != c.kind || !strings.HasPrefix(refusal.Text, c.want) {
				t.Errorf("got %s %q, want %s %q…", refusal.Kind, refusal.Text, c.kind, c.want)
			}
		})
	}
}

func TestPlanRollbackOfOnlyNewServices(t *testing.T) {
	t.Parallel()
	w := newRollbackWorld()
	d := &Diff{Source: Side{SnapshotID: "aws-beta#40", Artifacts: []Artifact{w.web}}, Target: Side{SnapshotID: "aws-prod#7"}}
	p := Compute(d, PlanOptions{Links: exampleLinks})
	of, err := NewManifest(&p, exampleMeta())
	if err != nil {
		t.Fatal(err)
	}
	_, err = PlanRollback(w.diff(nil, w.web), of, PlanOptions{Links: exampleLinks})
	var refusal *RollbackRefusal
	if !errors.As(err, &refusal) || refusal.Kind != NothingToRestore || !strings.Contains(refusal.Text, "only added services (web)") {
		t.Errorf("got %v", err)
	}
}
