package release_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/schema"
)

var (
	fpIn  = strings.Repeat("1a", 32)
	fpOut = strings.Repeat("0b", 32)
	fpNew = strings.Repeat("2c", 32)
)

func proposal(id string) release.ManifestMeta {
	return release.ManifestMeta{
		ReleaseID: id, Pipeline: "prod", CreatedAt: now, ProposerID: "U0123ABCD", ProposerName: "Grace",
		Evidence: release.Evidence{Flow: "production-promotion", Trail: id, URL: "https://kosli.example.com/acme/flows/production-promotion/trails/" + id},
	}
}

// smallRelease is a two-service release: saver replaced, web new.
func smallRelease(t *testing.T) (*release.Manifest, *release.Plan) {
	t.Helper()
	in := art("saver-ci", "https://github.com/o/saver/commit/"+shaB, fpIn, 1764000000)
	in.Name = "ghcr.io/o/saver:bbbbbbb@sha256:" + fpIn
	out := art("saver-ci", "https://github.com/o/saver/commit/"+shaA, fpOut, 1763000000)
	web := art("web", "https://github.com/o/web/commit/"+shaA, fpNew, 1764000000)
	web.Name = "ghcr.io/o/web:v1"
	p := release.Compute(diff([]release.Artifact{in, web}, []release.Artifact{out}, nil), opts)
	m, err := release.NewManifest(&p, proposal("prod-2026-11-24-1"))
	if err != nil {
		t.Fatal(err)
	}
	verify(t, m)
	return m, &p
}

// verify runs a manifest through VerifyManifest, and so through the schema
// with the real validator.
func verify(t *testing.T, m *release.Manifest) {
	t.Helper()
	data, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := release.VerifyManifest(data); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
}

func TestWorkflowInputsDefault(t *testing.T) {
	m, _ := smallRelease(t)
	got, err := release.WorkflowInputs(m, nil, release.MatrixDefault)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"release_id":      "prod-2026-11-24-1",
		"manifest_digest": m.SealedDigest,
		"promotions": `[{"service":"saver","image":"ghcr.io/o/saver@sha256:` + fpIn + `","digest":"sha256:` + fpIn + `",` +
			`"commit":"` + shaB + `","compare_url":"https://github.com/o/saver/compare/` + shaA + `...` + shaB + `",` +
			`"outgoing_digest":"sha256:` + fpOut + `"},` +
			`{"service":"web","image":"ghcr.io/o/web@sha256:` + fpNew + `","digest":"sha256:` + fpNew + `",` +
			`"commit":"` + shaA + `","compare_url":"https://github.com/o/web/commit/` + shaA + `","outgoing_digest":""}]`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	if !strings.HasPrefix(m.SealedDigest, "sha256:") {
		t.Errorf("manifest_digest %q", m.SealedDigest)
	}

	// Each item is one matrix leg as schema/promotion.schema.json describes it.
	items, err := jsonschema.UnmarshalJSON(strings.NewReader(got["promotions"]))
	if err != nil {
		t.Fatal(err)
	}
	for i, item := range items.([]any) {
		if err := schema.ValidatePromotion(item); err != nil {
			t.Errorf("item %d: %v", i, err)
		}
	}
}

func TestWorkflowInputsCyberDojo(t *testing.T) {
	m, p := smallRelease(t)
	got, err := release.WorkflowInputs(m, p, release.MatrixCyberDojo)
	if err != nil {
		t.Fatal(err)
	}
	saver := `{"incoming_snapshot_id":"beta#10",` +
		`"incoming_snapshot_url":"https://kosli.example.com/acme/environments/beta/snapshots/10?fingerprint=` + fpIn + `",` +
		`"incoming_image_name":"ghcr.io/o/saver:bbbbbbb@sha256:` + fpIn + `","incoming_fingerprint":"` + fpIn + `",` +
		`"incoming_repo_url":"https://github.com/o/saver","incoming_repo_name":"saver","incoming_commit_sha":"` + shaB + `",` +
		`"incoming_flow":"saver-ci","incoming_ci":"github",` +
		`"incoming_raw_snyk_policy_url":"https://raw.githubusercontent.com/o/saver/` + shaB + `/.snyk",` +
		`"outgoing_image_name":"reg/saver-ci@sha256:` + fpOut + `","outgoing_fingerprint":"` + fpOut + `",` +
		`"outgoing_repo_url":"https://github.com/o/saver","outgoing_repo_name":"saver","outgoing_commit_sha":"` + shaA + `",` +
		`"outgoing_flow":"saver-ci","outgoing_ci":"github",` +
		`"outgoing_raw_snyk_policy_url":"https://raw.githubusercontent.com/o/saver/` + shaA + `/.snyk",` +
		`"deployment_diff_url":"https://github.com/o/saver/compare/` + shaA + `...` + shaB + `"}`
	web := `{"incoming_snapshot_id":"beta#10",` +
		`"incoming_snapshot_url":"https://kosli.example.com/acme/environments/beta/snapshots/10?fingerprint=` + fpNew + `",` +
		`"incoming_image_name":"ghcr.io/o/web:v1","incoming_fingerprint":"` + fpNew + `",` +
		`"incoming_repo_url":"https://github.com/o/web","incoming_repo_name":"web","incoming_commit_sha":"` + shaA + `",` +
		`"incoming_flow":"web","incoming_ci":"github",` +
		`"incoming_raw_snyk_policy_url":"https://raw.githubusercontent.com/o/web/` + shaA + `/.snyk",` +
		`"outgoing_image_name":"","outgoing_fingerprint":"","outgoing_repo_url":"","outgoing_repo_name":"",` +
		`"outgoing_commit_sha":"","outgoing_flow":"","outgoing_ci":"","outgoing_raw_snyk_policy_url":"",` +
		`"deployment_diff_url":"https://github.com/o/web/commit/` + shaA + `"}`
	want := map[string]string{"release_id": "prod-2026-11-24-1", "manifest_digest": m.SealedDigest, "promotions": "[" + saver + "," + web + "]"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

// TestWorkflowInputsCyberDojoConformance: for a cyber-dojo fixture the
// promotions input is, as JSON, exactly what cyber-dojo's own script prints.
func TestWorkflowInputsCyberDojoConformance(t *testing.T) {
	data, err := os.ReadFile("../../testdata/cyber-dojo-promotions/diff-snapshots/4.json")
	if err != nil {
		t.Fatal(err)
	}
	d, err := release.ParseDiff(data)
	if err != nil {
		t.Fatal(err)
	}
	p := release.Compute(&d, release.PlanOptions{Links: release.Links{Host: "https://app.kosli.com", Org: "cyber-dojo"}})
	m, err := release.NewManifest(&p, proposal("prod-1"))
	if err != nil {
		t.Fatal(err)
	}
	inputs, err := release.WorkflowInputs(m, &p, release.MatrixCyberDojo)
	if err != nil {
		t.Fatal(err)
	}
	expected, err := os.ReadFile("../../testdata/cyber-dojo-promotions/expected/4.json")
	if err != nil {
		t.Fatal(err)
	}
	var got, want []map[string]string
	if err := json.Unmarshal([]byte(inputs["promotions"]), &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(expected, &want); err != nil {
		t.Fatal(err)
	}
	if len(want) != 4 || !reflect.DeepEqual(got, want) {
		t.Fatalf("promotions differ from cyber-dojo's:\n%s", inputs["promotions"])
	}
	if strings.ContainsAny(inputs["promotions"], " \n") {
		t.Errorf("promotions is not compact")
	}
}

func TestWorkflowInputsRefuses(t *testing.T) {
	m, p := smallRelease(t)
	other := *p
	other.Promotions = append([]release.Promotion(nil), p.Promotions...)
	other.Promotions[1].Incoming.Fingerprint = fpOut
	unsealed := *m
	unsealed.SealedDigest = ""
	cases := []struct {
		name  string
		m     *release.Manifest
		p     *release.Plan
		style release.MatrixStyle
		want  string
	}{
		{"unknown style", m, p, "yaml", `matrix style must be "default" or "cyber-dojo", not "yaml"`},
		{"cyber-dojo without the plan", m, nil, release.MatrixCyberDojo, "needs the plan the manifest was made from"},
		{"cyber-dojo with another plan", m, &other, release.MatrixCyberDojo, "the plan's promotion 1 (web 0b0b0b0b0b0b) is not the manifest's artifact 1"},
		{"fewer promotions", m, &release.Plan{Promotions: p.Promotions[:1]}, release.MatrixCyberDojo, "the plan has 1 promotions, the manifest 2 artifacts"},
		{"unsealed", &unsealed, nil, release.MatrixDefault, "not sealed"},
		{"no manifest", nil, nil, release.MatrixDefault, "not sealed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := release.WorkflowInputs(c.m, c.p, c.style)
			if err == nil || !strings.Contains(err.Error(), c.want) || got != nil {
				t.Fatalf("got %v, %v; want an error containing %q", got, err, c.want)
			}
		})
	}
}

// TestInputsSizeBoundary: 65,535 characters pass, 65,536 are refused. The
// first artifact's compare link is padded one character at a time.
func TestInputsSizeBoundary(t *testing.T) {
	for _, style := range []release.MatrixStyle{release.MatrixDefault, release.MatrixCyberDojo} {
		t.Run(string(style), func(t *testing.T) {
			m, p := smallRelease(t)
			base, err := release.WorkflowInputs(m, p, style)
			if err != nil {
				t.Fatal(err)
			}
			pad := func(n int) (map[string]string, error) {
				m.Artifacts[0].CompareURL = "https://example.com/" + strings.Repeat("x", n)
				p.Promotions[0].DiffURL = m.Artifacts[0].CompareURL
				if err := m.Seal(); err != nil {
					t.Fatal(err)
				}
				return release.WorkflowInputs(m, p, style)
			}
			n := release.MaxWorkflowInputsSize - release.InputsSize(base) + len(m.Artifacts[0].CompareURL) - len("https://example.com/")
			fits, err := pad(n)
			if err != nil {
				t.Fatalf("%d characters: %v", release.InputsSize(fits), err)
			}
			if size := release.InputsSize(fits); size != 65535 {
				t.Fatalf("padded to %d characters, want 65,535", size)
			}
			verify(t, m)

			_, err = pad(n + 1)
			var tooLarge *release.TooLargeError
			if !errors.As(err, &tooLarge) || *tooLarge != (release.TooLargeError{Reason: release.InputsTooLong, Size: 65536, Limit: 65535}) {
				t.Fatalf("got %v, want inputs too long", err)
			}
			const want = "this release's workflow inputs take 65,536 characters; GitHub accepts at most 65,535 — propose fewer services"
			if err.Error() != want {
				t.Errorf("error %q, want %q", err, want)
			}
		})
	}
}

// TestInputsSize counts the largest form any encoder could write: non-ASCII
// and HTML characters as \u escapes, the quotes of the embedded JSON escaped.
func TestInputsSize(t *testing.T) {
	for _, c := range []struct {
		in   map[string]string
		want int
	}{
		{map[string]string{}, len(`{}`)},
		{map[string]string{"a": "b", "c": "d"}, len(`{"a":"b","c":"d"}`)},
		{map[string]string{"a": `["x"]`}, len(`{"a":"[\"x\"]"}`)},
		{map[string]string{"a": "é"}, len(`{"a":"\u00e9"}`)},
		{map[string]string{"a": "😀"}, len(`{"a":"\ud83d\ude00"}`)},
		{map[string]string{"a": "&<>"}, len(`{"a":"\u0026\u003c\u003e"}`)},
	} {
		if got := release.InputsSize(c.in); got != c.want {
			t.Errorf("InputsSize(%q) = %d, want %d", c.in, got, c.want)
		}
	}
}

// legs is a sealed manifest of n artifacts as small as an artifact can be.
func legs(t *testing.T, n int) *release.Manifest {
	t.Helper()
	m := &release.Manifest{ReleaseID: "r", Artifacts: make([]release.ManifestArtifact, n)}
	for i := range m.Artifacts {
		d := fmt.Sprintf("sha256:%064x", i)
		m.Artifacts[i] = release.ManifestArtifact{Service: fmt.Sprint(i), Digest: d, URI: "r@" + d, CompareURL: "c", NewService: true}
	}
	if err := m.Seal(); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestMatrixLegs: 257 legs are refused as too many legs. 256 pass that
// check but no 256 artifacts fit in 65,535 characters (an image by digest
// and a digest alone take 144), so the size refuses them: the leg limit is
// there for the clearer message.
func TestMatrixLegs(t *testing.T) {
	var tooLarge *release.TooLargeError
	_, err := release.WorkflowInputs(legs(t, 256), nil, release.MatrixDefault)
	if !errors.As(err, &tooLarge) || tooLarge.Reason != release.InputsTooLong {
		t.Fatalf("256 legs: %v, want refused for size, not legs", err)
	}
	got, err := release.WorkflowInputs(legs(t, 240), nil, release.MatrixDefault)
	var items []release.DefaultPromotion
	if err != nil || json.Unmarshal([]byte(got["promotions"]), &items) != nil || len(items) != 240 || items[239].Service != "239" {
		t.Fatalf("240 legs: %d items, %v", len(items), err)
	}

	_, err = release.WorkflowInputs(legs(t, 257), nil, release.MatrixDefault)
	if !errors.As(err, &tooLarge) || *tooLarge != (release.TooLargeError{Reason: release.TooManyLegs, Size: 257, Limit: 256}) {
		t.Fatalf("257 legs: %v", err)
	}
	_, err = release.WorkflowInputs(legs(t, 300), nil, release.MatrixCyberDojo)
	if want := "this release has 300 artifacts; a GitHub matrix runs at most 256 — propose fewer services"; err == nil || err.Error() != want {
		t.Errorf("300 legs: %v, want %q", err, want)
	}
}

// TestTypicalCapacity documents where GitHub's limits bind for artifacts
// shaped like cyber-dojo's: the 65,535 characters, long before 256 legs.
func TestTypicalCapacity(t *testing.T) {
	fits := func(style release.MatrixStyle) int {
		for n := 1; ; n++ {
			p := release.Compute(bigDiff(n), release.PlanOptions{Links: release.Links{Host: "https://app.kosli.com", Org: "cyber-dojo"}, Now: now})
			m, err := release.NewManifest(&p, proposal("prod-2026-11-24-1"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := release.WorkflowInputs(m, &p, style); err != nil {
				var tooLarge *release.TooLargeError
				if !errors.As(err, &tooLarge) || tooLarge.Reason != release.InputsTooLong {
					t.Fatal(err)
				}
				return n - 1
			}
		}
	}
	def, cd := fits(release.MatrixDefault), fits(release.MatrixCyberDojo)
	t.Logf("artifacts that fit one dispatch: default %d, cyber-dojo %d", def, cd)
	if def < 100 || cd < 20 || cd >= def {
		t.Errorf("default fits %d, cyber-dojo %d", def, cd)
	}
}

// bigDiff is n services, each with a new build in beta replacing prod's.
func bigDiff(n int) *release.Diff {
	d := &release.Diff{Source: release.Side{SnapshotID: "aws-beta#4754"}, Target: release.Side{SnapshotID: "aws-prod#3548"}}
	for i := range n {
		for side, list := range []*[]release.Artifact{&d.Target.Artifacts, &d.Source.Artifacts} {
			fp := fmt.Sprintf("%063x%d", i, side)
			sha := fmt.Sprintf("%039x%d", i, side)
			*list = append(*list, release.Artifact{
				Fingerprint: fp, Flow: fmt.Sprintf("service-%03d-ci", i), InstanceCount: 1, MostRecentTimestamp: release.Timestamp(now.Add(-time.Hour).Unix()),
				Name:      fmt.Sprintf("244531986313.dkr.ecr.eu-central-1.amazonaws.com/service-%03d:%s@sha256:%s", i, sha[:7], fp),
				CommitURL: fmt.Sprintf("https://github.com/cyber-dojo/service-%03d/commit/%s", i, sha),
			})
		}
	}
	return d
}
