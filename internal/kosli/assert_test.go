package kosli_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/release-bot/release-bot/internal/kosli/kositest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/asserts")

// assertCase is one refused (or passed) artifact. The answer's shape is the
// one `kosli assert artifact` reads, kosli-dev/cli cmd/kosli/assertArtifact.go
// (printAssertAsTable); the reasons are that function's sentences.
type assertCase struct {
	name    string
	verdict kositest.Verdict
}

func assertCases() []assertCase {
	failing := func(def kositest.RuleResult, res ...kositest.ResolutionResult) kositest.Verdict {
		def.Resolutions = res
		return kositest.Verdict{Flow: "web-ci", Trail: "ed1878b", Policies: []kositest.PolicyResult{{Name: "prod-policy", Rules: []kositest.RuleResult{def}}}}
	}
	return []assertCase{
		// assertArtifact.go, case "legacy_flow": the rule is the policy's provenance, which names no attestation.
		{"legacy-flow", failing(kositest.RuleResult{}, kositest.ResolutionResult{Type: "legacy_flow"})},
		// assertArtifact.go, case "missing_attestation" without for_control: the rule's definition.name and .type.
		{"missing-attestation", failing(kositest.RuleResult{Name: "pull-request", Type: "pull_request"}, kositest.ResolutionResult{Type: "missing_attestation"})},
		// assertArtifact.go, case "missing_attestation" with context.for_control; the policy is
		// cmd/kosli/testdata/policy-files/test-policy-for-control.yml and the sentence is checked by
		// case 18 of cmd/kosli/assertArtifact_test.go.
		{"missing-decision-for-control", failing(kositest.RuleResult{Name: "decision", Type: "decision"}, kositest.ResolutionResult{Type: "missing_attestation", ForControl: "release-approved"})},
		// assertArtifact.go, case "non_compliant_attestation" without for_control.
		{"non-compliant-attestation", failing(kositest.RuleResult{Name: "snyk", Type: "snyk"}, kositest.ResolutionResult{Type: "non_compliant_attestation"})},
		// assertArtifact.go, case "non_compliant_attestation" with for_control; case 19 of assertArtifact_test.go.
		{"non-compliant-decision-for-control", failing(kositest.RuleResult{Name: "decision", Type: "decision"}, kositest.ResolutionResult{Type: "non_compliant_attestation", ForControl: "release-approved"})},
		// assertArtifact.go, case "non_compliant_in_trail", then the per-flow table of
		// compliance_status.attestations_statuses (name, type, status, is_compliant, unexpected),
		// where a MISSING attestation has is_compliant null (cmd/kosli/getTrail_markdown_test.go's
		// trail) and the CLI prints it as false.
		{"non-compliant-in-trail", func() kositest.Verdict {
			v := failing(kositest.RuleResult{}, kositest.ResolutionResult{Type: "non_compliant_in_trail"})
			v.Attestations = []kositest.AttestationResult{
				{Name: "pull-request", Type: "pull_request", Status: "COMPLETE", Compliant: true},
				{Name: "unit-tests", Type: "junit", Status: "COMPLETE", Compliant: false},
				{Name: "snyk", Type: "snyk", Status: "MISSING"},
				{Name: "lint", Type: "generic", Status: "COMPLETE", Compliant: false, Unexpected: true},
			}
			return v
		}()},
		// assertArtifact.go reads only rules neither ignored nor satisfied, of policies whose status
		// is not COMPLIANT, and prints nothing for a resolution type it does not know: such a
		// policy is named alone.
		{"ignored-satisfied-and-unknown", kositest.Verdict{Flow: "web-ci", Trail: "ed1878b", Policies: []kositest.PolicyResult{
			{Name: "prod-policy", Rules: []kositest.RuleResult{
				{Name: "snyk", Type: "snyk", Ignored: true, Resolutions: []kositest.ResolutionResult{{Type: "missing_attestation"}}},
				{Name: "pull-request", Type: "pull_request", Satisfied: true},
				{Resolutions: []kositest.ResolutionResult{{Type: "some_future_resolution"}}},
			}},
			{Name: "snyk-policy", Rules: []kositest.RuleResult{{Name: "snyk", Type: "snyk", Satisfied: true}}},
		}}},
		// A compliant artifact has nothing to explain.
		{"compliant", kositest.Verdict{Compliant: true, Flow: "web-ci", Trail: "ed1878b", Policies: []kositest.PolicyResult{
			{Name: "prod-policy", Rules: []kositest.RuleResult{{Name: "decision", Type: "decision", Satisfied: true}}},
		}}},
	}
}

// TestAssertGolden checks, per case, that the fake answers the assert as
// testdata/asserts/<case>.json has it, that the answer holds no key
// `kosli assert artifact` does not read, and that the client says what
// testdata/asserts/<case>.golden says, one reason a line. -update rewrites both.
func TestAssertGolden(t *testing.T) {
	for _, c := range assertCases() {
		t.Run(c.name, func(t *testing.T) {
			h := setup(t)
			h.srv.AddEnvironment("aws-prod", "ECS")
			h.srv.SetVerdict(fpWeb, "aws-prod", c.verdict)

			body := rawAssert(t, h, fpWeb, "aws-prod")
			checkKeys(t, body)
			golden(t, c.name+".json", body)

			// The client reads the golden answer itself, not only the fake's.
			want, err := os.ReadFile(filepath.Join("testdata", "asserts", c.name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			h.srv.Script(kositest.RouteAsserts, kositest.Response{Status: http.StatusOK, Body: string(want)})
			got, err := h.c.Compliance(ctx(t), fpWeb, "aws-prod")
			if err != nil {
				t.Fatal(err)
			}
			if got.Compliant != c.verdict.Compliant {
				t.Errorf("compliant = %v", got.Compliant)
			}
			var lines []byte
			for _, f := range got.Failures {
				lines = append(lines, f+"\n"...)
			}
			// A missing decision is also named by its control: the
			// pipeline's own is what the release's approval records.
			for _, a := range got.Awaiting {
				lines = append(lines, "awaiting: a decision for control '"+a+"'\n"...)
			}
			golden(t, c.name+".golden", lines)
		})
	}
}

// rawAssert is the fake's answer to the assert, indented.
func rawAssert(t *testing.T, h *harness, fp, env string) []byte {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx(t), http.MethodGet, h.srv.URL()+"/api/v2/asserts/"+org+"/fingerprint/"+fp+"?environment_name="+env, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %s %v", resp.StatusCode, raw, err)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, raw, "", "  "); err != nil {
		t.Fatal(err)
	}
	out.WriteByte('\n')
	return out.Bytes()
}

// cliReads lists every key `kosli assert artifact` reads from the assert
// (kosli-dev/cli cmd/kosli/assertArtifact.go, run and printAssertAsTable), plus
// fingerprint and each flow's compliant and html_url, which the endpoint's
// documented answer has too (../shared/reference/kosli-api.md, "The assert").
var cliReads = []string{
	"fingerprint", "compliant", "scope", "environment", "html_url", "flows", "policy_evaluations",
	"flows[].flow", "flows[].trail", "flows[].compliant", "flows[].html_url", "flows[].compliance_status",
	"flows[].compliance_status.attestations_statuses",
	"flows[].compliance_status.attestations_statuses[].attestation_name",
	"flows[].compliance_status.attestations_statuses[].attestation_type",
	"flows[].compliance_status.attestations_statuses[].status",
	"flows[].compliance_status.attestations_statuses[].is_compliant",
	"flows[].compliance_status.attestations_statuses[].unexpected",
	"policy_evaluations[].policy_name", "policy_evaluations[].status", "policy_evaluations[].rule_evaluations",
	"policy_evaluations[].rule_evaluations[].rule", "policy_evaluations[].rule_evaluations[].satisfied",
	"policy_evaluations[].rule_evaluations[].ignored", "policy_evaluations[].rule_evaluations[].resolutions",
	"policy_evaluations[].rule_evaluations[].rule.definition",
	"policy_evaluations[].rule_evaluations[].rule.definition.name",
	"policy_evaluations[].rule_evaluations[].rule.definition.type",
	"policy_evaluations[].rule_evaluations[].resolutions[].type",
	"policy_evaluations[].rule_evaluations[].resolutions[].context",
	"policy_evaluations[].rule_evaluations[].resolutions[].context.for_control",
}

// checkKeys fails for any key in body that is not in cliReads: the fake must
// not invent fields the client could come to depend on.
func checkKeys(t *testing.T, body []byte) {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				p := strings.TrimPrefix(path+"."+k, ".")
				if !slices.Contains(cliReads, p) {
					t.Errorf("the fake sends %s, which kosli assert artifact does not read", p)
				}
				walk(p, e)
			}
		case []any:
			for _, e := range x {
				walk(path+"[]", e)
			}
		}
	}
	walk("", v)
}

// golden compares got with testdata/asserts/<name>.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "asserts", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/kosli -run TestAssertGolden -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs; run go test ./internal/kosli -run TestAssertGolden -update and review the diff.\ngot:\n%s", path, got)
	}
}
