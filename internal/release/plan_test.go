package release_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/release-bot/release-bot/internal/release"
)

const (
	shaA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	shaB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

var now = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func art(flow, commitURL, fp string, ts int64) release.Artifact {
	return release.Artifact{Fingerprint: fp, Name: "reg/" + flow + "@sha256:" + fp, Flow: flow, CommitURL: commitURL,
		MostRecentTimestamp: release.Timestamp(ts), InstanceCount: 1}
}

func diff(in, out, common []release.Artifact) *release.Diff {
	return &release.Diff{
		Source:     release.Side{SnapshotID: "beta#10", Artifacts: in},
		Target:     release.Side{SnapshotID: "prod#7", Artifacts: out},
		NotChanged: release.Group{Artifacts: common},
	}
}

var opts = release.PlanOptions{Links: release.Links{Host: "https://kosli.example.com/", Org: "acme"}, Now: now}

func TestComputeAnyForge(t *testing.T) {
	cases := []struct {
		name          string
		in, out       string
		wantRepo      string
		wantName      string
		wantForge     release.Forge
		wantDiff      string
		wantRepoMoved bool
	}{
		{"github", "https://github.com/o/r/commit/" + shaB, "https://github.com/o/r/commit/" + shaA,
			"https://github.com/o/r", "r", release.ForgeGitHub, "https://github.com/o/r/compare/" + shaA + "..." + shaB, false},
		{"github enterprise", "https://ghe.corp.example/o/r/commit/" + shaB, "https://ghe.corp.example/o/r/commit/" + shaA,
			"https://ghe.corp.example/o/r", "r", release.ForgeGitHub, "https://ghe.corp.example/o/r/compare/" + shaA + "..." + shaB, false},
		{"self-hosted gitlab, nested groups", "https://git.corp.example/g/sub/r/-/commit/" + shaB, "https://git.corp.example/g/sub/r/-/commit/" + shaA,
			"https://git.corp.example/g/sub/r", "r", release.ForgeGitLab, "https://git.corp.example/g/sub/r/compare/" + shaA + "..." + shaB, false},
		{"bitbucket: no compare link, the incoming commit link", "https://bitbucket.org/o/r/commits/" + shaB, "https://bitbucket.org/o/r/commits/" + shaA,
			"https://bitbucket.org/o/r", "r", release.ForgeBitbucket, "https://bitbucket.org/o/r/commits/" + shaB, false},
		{"unknown shape", "https://code.example/o/r/tree/" + shaB, "https://code.example/o/r/tree/" + shaA,
			"", "", release.ForgeUnknown, "https://code.example/o/r/tree/" + shaB, false},
		{"moved from gitlab to github", "https://github.com/o/r/commit/" + shaB, "https://gitlab.com/o/r/-/commit/" + shaA,
			"https://github.com/o/r", "r", release.ForgeGitHub, "https://github.com/o/r/commit/" + shaB, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := release.Compute(diff(
				[]release.Artifact{art("svc-ci", c.in, "f1", 0)},
				[]release.Artifact{art("svc-ci", c.out, "f0", 0)}, nil), opts)
			if p.Refused() || len(p.Promotions) != 1 {
				t.Fatalf("plan %+v", p)
			}
			pr := p.Promotions[0]
			in := pr.Incoming.Commit
			if in.RepoURL != c.wantRepo || in.RepoName != c.wantName || in.Forge != c.wantForge || in.SHA != shaB {
				t.Errorf("incoming commit = %+v", in)
			}
			if pr.DiffURL != c.wantDiff || pr.RepoMoved != c.wantRepoMoved {
				t.Errorf("diff url %q moved %v, want %q %v", pr.DiffURL, pr.RepoMoved, c.wantDiff, c.wantRepoMoved)
			}
			if pr.Outgoing == nil || pr.Outgoing.Commit.SHA != shaA {
				t.Errorf("outgoing = %+v", pr.Outgoing)
			}
		})
	}
}

func TestComputeNoProvenance(t *testing.T) {
	// Two unprovenanced artifacts share the empty flow in each environment:
	// that is not a deployment in progress, and neither can be promoted.
	p := release.Compute(diff(
		[]release.Artifact{
			art("", "", "n1", 0),
			art("web-ci", "https://github.com/o/web/commit/"+shaB, "w1", 0),
			art("api-ci", "", "n2", 0),
		},
		[]release.Artifact{art("", "", "n3", 0), art("web-ci", "https://github.com/o/web/commit/"+shaA, "w0", 0)},
		[]release.Artifact{art("", "", "n4", 0)}), opts)
	if p.Refused() {
		t.Fatalf("refused: %v", p.Refusals())
	}
	if len(p.Promotions) != 1 || p.Promotions[0].Service != "web" {
		t.Fatalf("promotions %+v", p.Promotions)
	}
	skipped := p.Skipped()
	if len(skipped) != 2 || skipped[0].Fingerprint != "n1" || skipped[1].Fingerprint != "n2" || skipped[0].SnapshotID != "beta#10" {
		t.Fatalf("skipped %+v", skipped)
	}
	if !strings.Contains(skipped[0].String(), "no provenance") {
		t.Errorf("message %q", skipped[0].String())
	}
}

func TestComputeDeploymentInProgress(t *testing.T) {
	gh := func(sha string) string { return "https://github.com/o/x/commit/" + sha }
	p := release.Compute(diff(
		[]release.Artifact{art("x-ci", gh(shaB), "x1", 0)},
		[]release.Artifact{art("x-ci", gh(shaA), "x0", 0), art("y-ci", gh(shaA), "y0", 0)},
		[]release.Artifact{art("y-ci", gh(shaB), "y1", 0), art("x-ci", gh(shaA), "x2", 0)}), opts)
	r := p.Refusals()
	if len(r) != 2 {
		t.Fatalf("refusals %+v", r)
	}
	if r[0].SnapshotID != "beta#10" || !reflect.DeepEqual(r[0].Flows, []string{"x-ci"}) {
		t.Errorf("source refusal %+v", r[0])
	}
	if r[1].SnapshotID != "prod#7" || !reflect.DeepEqual(r[1].Flows, []string{"x-ci", "y-ci"}) {
		t.Errorf("target refusal %+v", r[1])
	}
	if got := r[1].Lines(); got[0] != "ERROR: A blue-green deployment is in progress in prod#7" || got[1] != "ERROR: For ['x-ci', 'y-ci']" {
		t.Errorf("lines %q", got)
	}
}

func TestComputeRepoChangedOnSameHost(t *testing.T) {
	p := release.Compute(diff(
		[]release.Artifact{art("x-ci", "https://github.com/o/x2/commit/"+shaB, "x1", 0)},
		[]release.Artifact{art("x-ci", "https://github.com/o/x/commit/"+shaA, "x0", 0)}, nil), opts)
	r := p.Refusals()
	if len(r) != 1 || r[0].Kind != release.RepoChanged || r[0].IncomingURL != "https://github.com/o/x2" || r[0].OutgoingURL != "https://github.com/o/x" {
		t.Fatalf("refusals %+v", r)
	}
}

func TestComputeWaitsNewAndLeaving(t *testing.T) {
	gh := func(repo, sha string) string { return "https://github.com/o/" + repo + "/commit/" + sha }
	waitedSince := now.Add(-50 * time.Hour).Unix()
	p := release.Compute(diff(
		[]release.Artifact{art("new-ci", gh("new", shaB), "n1", waitedSince), art("old-ci", gh("old", shaB), "o1", 0)},
		[]release.Artifact{art("old-ci", gh("old", shaA), "o0", 0), art("gone-ci", gh("gone", shaA), "g0", 0)},
		[]release.Artifact{art("same-ci", gh("same", shaA), "s0", 0)}), opts)
	if len(p.Promotions) != 2 {
		t.Fatalf("%+v", p.Promotions)
	}
	n := p.Promotions[0]
	if !n.New() || n.Waited != 50*time.Hour || n.DiffURL != gh("new", shaB) || release.HumanDuration(n.Waited) != "2d 2h" {
		t.Errorf("new service %+v (waited %v)", n, n.Waited)
	}
	if p.Promotions[1].New() || p.Promotions[1].Waited != 0 {
		t.Errorf("old service %+v", p.Promotions[1])
	}
	if len(p.Leaving) != 1 || p.Leaving[0].Name != "gone" || p.Leaving[0].CommitSHA != shaA {
		t.Errorf("leaving %+v", p.Leaving)
	}
	if p.Unchanged != 1 {
		t.Errorf("unchanged %d", p.Unchanged)
	}
	wantURL := "https://kosli.example.com/acme/environments/beta/snapshots/10?fingerprint=n1"
	if n.Incoming.SnapshotURL != wantURL {
		t.Errorf("snapshot url %q, want %q", n.Incoming.SnapshotURL, wantURL)
	}
}

func TestComputeServiceFilter(t *testing.T) {
	gh := func(repo string) string { return "https://github.com/o/" + repo + "/commit/" + shaB }
	d := diff([]release.Artifact{art("a-ci", gh("a"), "1", 0), art("b", gh("b"), "2", 0), art("c-ci", gh("c"), "3", 0)}, nil, nil)
	o := opts
	o.Services = []string{"a", "b"}
	p := release.Compute(d, o)
	if len(p.Promotions) != 2 || p.Promotions[0].Incoming.Flow != "a-ci" || p.Promotions[1].Incoming.Flow != "b" {
		t.Fatalf("%+v", p.Promotions)
	}
}

func TestParseCommitURLNeverFails(t *testing.T) {
	for _, in := range []string{"", "not a url", "https://", "https://x/commit/", "https://x/commit/zz", "://bad", "https://x/-/commit/" + shaA + "/extra", "https://github.com/o/r/commit/" + shaA + "?w=1#L2"} {
		c := release.ParseCommitURL(in)
		if c.URL != in {
			t.Errorf("%q: URL %q", in, c.URL)
		}
	}
	c := release.ParseCommitURL("https://github.com/o/r/commit/" + shaA + "?w=1#L2")
	if c.SHA != shaA || c.RepoURL != "https://github.com/o/r" {
		t.Errorf("%+v", c)
	}
	if c := release.ParseCommitURL("https://x/-/commit/" + shaA + "/extra"); c.SHA != shaA || c.RepoURL != "https://x" {
		t.Errorf("%+v", c)
	}
}

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second: "0s", 45 * time.Second: "45s", 12 * time.Minute: "12m", 3 * time.Hour: "3h",
		3*time.Hour + 20*time.Minute: "3h 20m", 48 * time.Hour: "2d", 52 * time.Hour: "2d 4h",
	} {
		if got := release.HumanDuration(d); got != want {
			t.Errorf("HumanDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
