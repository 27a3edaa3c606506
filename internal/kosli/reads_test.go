package kosli_test

import (
	"errors"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/release-bot/release-bot/internal/kosli"
	"github.com/release-bot/release-bot/internal/kosli/kositest"
	"github.com/release-bot/release-bot/internal/release"
)

func TestEnvDiffAndDiff(t *testing.T) {
	h := setup(t)
	h.srv.SetEnvironment("aws-prod", []kositest.Artifact{running(fpOld, "nginx", 1), running(fpWeb, "web", 3)})
	h.srv.SetEnvironment("aws-beta", []kositest.Artifact{running(fpNginx, "nginx", 1), running(fpWeb, "web", 3)})

	for _, c := range []struct {
		name string
		get  func() (release.Diff, error)
	}{
		{"EnvDiff", func() (release.Diff, error) { return h.c.EnvDiff(ctx(t), "aws-beta", "aws-prod#1") }},
		{"Diff", func() (release.Diff, error) { return h.c.Diff(ctx(t), "aws-beta", "aws-prod") }},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, err := c.get()
			if err != nil {
				t.Fatal(err)
			}
			if d.Source.SnapshotID != "aws-beta#1" || d.Target.SnapshotID != "aws-prod#1" {
				t.Errorf("snapshot ids %q, %q", d.Source.SnapshotID, d.Target.SnapshotID)
			}
			if len(d.Source.Artifacts) != 1 || d.Source.Artifacts[0].Fingerprint != fpNginx ||
				len(d.Target.Artifacts) != 1 || d.Target.Artifacts[0].Fingerprint != fpOld ||
				len(d.NotChanged.Artifacts) != 1 || d.NotChanged.Artifacts[0].Fingerprint != fpWeb {
				t.Errorf("diff = %+v", d)
			}
		})
	}
	last := h.srv.RequestsTo(kositest.RouteEnvDiff)
	if q := last[0].Query; q.Get("snappish1") != "aws-beta" || q.Get("snappish2") != "aws-prod#1" {
		t.Errorf("query = %v", q)
	}
}

func TestSnapshotAndRunning(t *testing.T) {
	h := setup(t)
	t1 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	h.srv.SetClock(func() time.Time { return t1 })
	h.srv.SetEnvironment("aws-prod", []kositest.Artifact{running(fpOld, "nginx", 1), running(fpWeb, "web", 3)})
	h.srv.SetEnvironment("aws-prod", []kositest.Artifact{running(fpNginx, "nginx", 1), running(fpWeb, "web", 3)}) // nginx deployed

	s, err := h.c.Snapshot(ctx(t), "aws-prod", "-1")
	if err != nil {
		t.Fatal(err)
	}
	if s.Index != 2 || !s.Timestamp.Equal(t1) || s.Type != "K8S" || len(s.Artifacts) != 3 {
		t.Fatalf("snapshot = %+v", s)
	}
	exited := s.Artifacts[2]
	if exited.Fingerprint != fpOld || exited.Running() || exited.Annotation.Was != 1 {
		t.Errorf("the replaced nginx should be listed as exited: %+v", exited)
	}
	web := s.Artifacts[1]
	if web.FlowName != "web-ci" || len(web.CreationTimestamp) != 3 || web.GitCommit != "fa32058a046015786d1589e16af7da0973f2e726" || len(web.Flows) != 1 {
		t.Errorf("web = %+v", web)
	}

	first, err := h.c.Snapshot(ctx(t), "aws-prod", "#1")
	if err != nil || first.Index != 1 {
		t.Fatalf("snapshot #1: %+v, %v", first, err)
	}

	r, err := h.c.Running(ctx(t), "aws-prod")
	if err != nil {
		t.Fatal(err)
	}
	want := release.Running{Environment: "aws-prod", SnapshotID: "aws-prod#2", Taken: t1, Fingerprints: []string{fpNginx, fpWeb}}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("Running = %+v\nwant %+v", r, want)
	}
}

func TestSnapshotRejectsAnUnreadableID(t *testing.T) {
	h := setup(t)
	_, err := h.c.Snapshot(ctx(t), "aws-prod", "yesterday")
	var v *kosli.ValidationError
	if !errors.As(err, &v) {
		t.Fatalf("err = %v", err)
	}
	if n := len(h.srv.Requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

func TestEnvironments(t *testing.T) {
	h := setup(t)
	h.srv.SetEnvironment("aws-beta", []kositest.Artifact{running(fpWeb, "web", 1)})
	h.srv.AddEnvironment("aws-prod", "ECS")

	envs, err := h.c.Environments(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(envs) != 2 || envs[0].Name != "aws-beta" || envs[1].Name != "aws-prod" || envs[1].Type != "ECS" {
		t.Fatalf("envs = %+v", envs)
	}
	if envs[0].State == nil || !*envs[0].State || envs[1].State != nil || envs[0].Tags == nil {
		t.Errorf("states/tags: %+v", envs)
	}

	e, err := h.c.Environment(ctx(t), "aws-prod")
	if err != nil || e.Name != "aws-prod" || !e.LastReportedAt.IsZero() {
		t.Fatalf("Environment = %+v, %v", e, err)
	}
}

func TestAssertAndCompliance(t *testing.T) {
	h := setup(t)
	h.srv.SetEnvironment("aws-prod", []kositest.Artifact{running(fpOld, "nginx", 1)})
	h.srv.SetVerdict(fpWeb, "aws-prod", kositest.Verdict{
		Compliant: false, Flow: "web-ci", Trail: "ed1878b",
		Policies: []kositest.PolicyResult{
			{Name: "prod-policy", Rules: []kositest.RuleResult{
				{Resolutions: []kositest.ResolutionResult{{Type: "non_compliant_in_trail"}}},
				{Name: "decision", Type: "decision", Resolutions: []kositest.ResolutionResult{{Type: "missing_attestation", ForControl: "release-approved"}}},
			}, PassingRules: []string{"pull-request"}},
			{Name: "snyk-scan", PassingRules: []string{"snyk"}},
		},
	})
	h.srv.SetVerdict(fpNginx, "aws-prod", kositest.Verdict{Compliant: true, Policies: []kositest.PolicyResult{{Name: "prod-policy", PassingRules: []string{"pull-request"}}}})

	a, err := h.c.Assert(ctx(t), fpWeb, kosli.AssertQuery{Environment: "aws-prod", Flow: "web-ci", Policies: []string{"prod-policy", "snyk-scan"}})
	if err != nil {
		t.Fatal(err)
	}
	if a.Compliant || a.Scope != "policy" || len(a.PolicyEvaluations) != 2 || len(a.Flows) != 1 || a.Flows[0].Trail != "ed1878b" {
		t.Errorf("assertion = %+v", a)
	}
	q := h.srv.RequestsTo(kositest.RouteAsserts)[0].Query
	if q.Get("environment_name") != "aws-prod" || q.Get("flow_name") != "web-ci" || len(q["policy_name"]) != 2 {
		t.Errorf("query = %v", q)
	}

	for _, c := range []struct {
		name, fp string
		want     release.Compliance
	}{
		{"failing policy rules are named", fpWeb, release.Compliance{
			Fingerprint: fpWeb, Environment: "aws-prod",
			Failures: []string{"prod-policy: not compliant in trail", "prod-policy: missing required decision for control 'release-approved'"},
			Awaiting: []string{"release-approved"},
			URL:      "https://app.kosli.com/cyber-dojo/flows/web-ci/artifacts/" + fpWeb,
		}},
		{"compliant", fpNginx, release.Compliance{Fingerprint: fpNginx, Environment: "aws-prod", Compliant: true,
			URL: "https://app.kosli.com/cyber-dojo/flows//artifacts/" + fpNginx}},
		{"judged by the snapshot when no verdict is set", fpOld, release.Compliance{Fingerprint: fpOld, Environment: "aws-prod", Compliant: true,
			URL: "https://app.kosli.com/cyber-dojo/flows/nginx-ci/artifacts/" + fpOld}},
		{"unknown fingerprint", "ffff", release.Compliance{Fingerprint: "ffff", Environment: "aws-prod", Unknown: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := h.c.Compliance(ctx(t), c.fp, "aws-prod")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got  %+v\nwant %+v", got, c.want)
			}
		})
	}
}

// Kosli has answered an unknown fingerprint with 400 as well as 404.
func TestComplianceOfAnUnknownFingerprintAnsweredWith400(t *testing.T) {
	h := setup(t)
	h.srv.Script(kositest.RouteAsserts, kositest.Response{Status: http.StatusBadRequest,
		Body: `{"message": "Artifact with fingerprint 'abc' does not exist in organization 'cyber-dojo'"}`})
	got, err := h.c.Compliance(ctx(t), "abc", "aws-prod")
	if err != nil || !got.Unknown || got.Compliant {
		t.Fatalf("got %+v, %v", got, err)
	}
	_, err = h.c.Assert(ctx(t), "abc", kosli.AssertQuery{})
	want := `Kosli has no artifact with fingerprint abc in org "cyber-dojo" (Kosli answered 404 to GET /api/v2/asserts/cyber-dojo/fingerprint/abc: ` +
		`Artifact with fingerprint 'abc' does not exist in organization 'cyber-dojo')`
	if !errors.Is(err, kosli.ErrNotFound) || err.Error() != want {
		t.Errorf("Assert error:\n got %v\nwant %s", err, want)
	}
}
