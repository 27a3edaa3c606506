package kositest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/release-bot/release-bot/internal/kosli/kositest"
)

func startFake(t *testing.T) (*kositest.Server, string) {
	t.Helper()
	srv := kositest.Start(t, org, token)
	return srv, srv.URL() + "/api/v2"
}

func sendJSON(t *testing.T, method, u, body string) (int, map[string]any) {
	t.Helper()
	return send(t, method, u, token, strings.NewReader(body), "application/json")
}

// multipartFields builds a form of text fields and one file.
func multipartFields(t *testing.T, fields map[string]string, fileField, file string) (io.Reader, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if fileField != "" {
		part, err := w.CreateFormFile(fileField, "policy.yml")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = part.Write([]byte(file))
	}
	_ = w.Close()
	return &buf, w.FormDataContentType()
}

// Controls: POST /controls/{org} {"identifier","name","description"?}
// (kosli-dev/cli cmd/kosli/createControl.go), a duplicate refused "A control
// with identifier 'my-control' already exists in organization…" and a bad
// identifier with the pattern ^[a-zA-Z0-9\-._~]+$ (cmd/kosli/createControl_test.go);
// the duplicate's 409 follows from the CLI not retrying that 409
// (DisableConflictRetry, internal/requests/requests.go). GET /controls/{org}
// is paged {controls, page, total_pages, total_count} with page and per_page
// (cmd/kosli/listControls.go); GET /controls/{org}/{id} of an unknown one is
// "Control 'no-such-control' does not exist in org…" (cmd/kosli/getControl_test.go).
func TestControlsAsTheServerKeepsThem(t *testing.T) {
	srv, base := startFake(t)
	if status, _ := sendJSON(t, "POST", base+"/controls/cyber-dojo", `{"identifier": "my-control", "name": "My Control"}`); status != 201 {
		t.Errorf("create: %d", status)
	}
	status, m := sendJSON(t, "POST", base+"/controls/cyber-dojo", `{"identifier": "my-control", "name": "Again"}`)
	if status != 409 || !strings.HasPrefix(m["message"].(string), "A control with identifier 'my-control' already exists in organization") {
		t.Errorf("duplicate: %d %v", status, m)
	}
	status, m = sendJSON(t, "POST", base+"/controls/cyber-dojo", `{"identifier": "bad identifier", "name": "My Control"}`)
	errs, _ := m["errors"].(map[string]any)
	if status != 400 || m["message"] != "Input payload validation failed" ||
		errs["identifier"] != `String should match pattern '^[a-zA-Z0-9\-._~]+$' [input: bad identifier]` {
		t.Errorf("bad identifier: %d %v", status, m)
	}
	srv.AddControl("second", "Second")
	srv.AddControl("third", "Third")
	status, body := get(t, srv, "/api/v2/controls/cyber-dojo", url.Values{"page": {"2"}, "per_page": {"2"}})
	var page struct {
		Controls                     []map[string]any
		Page, TotalPages, TotalCount int
	}
	var raw map[string]json.RawMessage
	_ = json.Unmarshal(body, &raw)
	_ = json.Unmarshal(raw["controls"], &page.Controls)
	_ = json.Unmarshal(raw["page"], &page.Page)
	_ = json.Unmarshal(raw["total_pages"], &page.TotalPages)
	_ = json.Unmarshal(raw["total_count"], &page.TotalCount)
	if status != 200 || len(page.Controls) != 1 || page.Controls[0]["identifier"] != "third" || page.Page != 2 || page.TotalPages != 2 || page.TotalCount != 3 {
		t.Errorf("page 2: %d %s", status, body)
	}
	srv.DeleteControl("third")
	status, body = get(t, srv, "/api/v2/controls/cyber-dojo/third", nil)
	if status != 404 || !strings.Contains(string(body), "Control 'third' does not exist in organization 'cyber-dojo'") {
		t.Errorf("deleted: %d %s", status, body)
	}
	if got := srv.Controls(); len(got) != 2 || got[0].Identifier != "my-control" {
		t.Errorf("controls = %+v", got)
	}
}

// PUT /policies/{org} takes the multipart fields "payload" and "policy_file"
// (kosli-dev/cli cmd/kosli/createPolicy.go; not data_json), and
// POST /environments/{org}/{env}/policies {"policy_names": [...]} attaches
// them (cmd/kosli/attachPolicy.go). The assert of an environment with
// attached policies then evaluates them, scope "environment" as
// cmd/kosli/assertArtifact.go tells the scopes apart.
func TestPoliciesAreCreatedAndAttachedAsTheCLIDoes(t *testing.T) {
	srv, base := startFake(t)
	srv.AddEnvironment("aws-prod", "ECS")
	policyFile := "_schema: https://kosli.com/schemas/policy/environment/v1\nartifacts:\n  provenance:\n    required: true\n"
	body, ctype := multipartFields(t, map[string]string{"data_json": `{"name": "prod-policy", "type": "env"}`}, "policy_file", policyFile)
	if status, m := send(t, "PUT", base+"/policies/cyber-dojo", token, body, ctype); status != 400 {
		t.Errorf("data_json instead of payload: %d %v", status, m)
	}
	body, ctype = multipartFields(t, map[string]string{"payload": `{"name": "prod-policy", "description": "d", "comment": "", "type": "env"}`}, "policy_file", policyFile)
	if status, m := send(t, "PUT", base+"/policies/cyber-dojo", token, body, ctype); status != 201 {
		t.Fatalf("create: %d %v", status, m)
	}
	if status, m := sendJSON(t, "POST", base+"/environments/cyber-dojo/aws-prod/policies", `{"policy_names": ["nope"]}`); status != 404 {
		t.Errorf("unknown policy: %d %v", status, m)
	}
	if status, m := sendJSON(t, "POST", base+"/environments/cyber-dojo/aws-prod/policies", `{"policy_names": ["prod-policy"]}`); status != 200 {
		t.Fatalf("attach: %d %v", status, m)
	}
	// An artifact running with provenance meets the provenance rule.
	const fp = "337fa91d02fa59729aca2941bbfebf999d1c5ae74b1492a4c99a33a925c7f052"
	srv.SetEnvironment("aws-prod", []kositest.Artifact{{Name: "web", Fingerprint: fp, Flow: "web-ci", Instances: 1, Compliant: true}})
	status, out := get(t, srv, "/api/v2/asserts/cyber-dojo/fingerprint/"+fp, url.Values{"environment_name": {"aws-prod"}})
	var a struct {
		Compliant         bool   `json:"compliant"`
		Scope             string `json:"scope"`
		PolicyEvaluations []struct {
			PolicyName string `json:"policy_name"`
			Status     string `json:"status"`
		} `json:"policy_evaluations"`
	}
	_ = json.Unmarshal(out, &a)
	if status != 200 || !a.Compliant || a.Scope != "environment" || len(a.PolicyEvaluations) != 1 ||
		a.PolicyEvaluations[0].PolicyName != "prod-policy" || a.PolicyEvaluations[0].Status != "COMPLIANT" {
		t.Errorf("assert: %d %s", status, out)
	}
	// Without provenance the rule fails (its resolution is *inferred*: none).
	srv2 := kositest.Start(t, org, token)
	srv2.SetEnvironment("aws-prod", []kositest.Artifact{{Name: "web", Fingerprint: fp, Instances: 1, Compliant: true}})
	if err := srv2.AttachPolicy("aws-prod", policyFile); err != nil {
		t.Fatal(err)
	}
	_, out = get(t, srv2, "/api/v2/asserts/cyber-dojo/fingerprint/"+fp, url.Values{"environment_name": {"aws-prod"}})
	if err := json.Unmarshal(out, &a); err != nil || a.Compliant || a.PolicyEvaluations[0].Status != "NON-COMPLIANT" {
		t.Errorf("no provenance: %s", out)
	}
	if err := srv2.AttachPolicy("aws-prod", "artifacts: {}\n"); err == nil {
		t.Error("a policy without _schema was accepted")
	}
}

// POST /artifacts/{org}/{flow} records the artifact per flow and trail; an
// attestation bound to a fingerprint not reported in its trail is refused in
// the server's words (kosli-dev/cli cmd/kosli/attestGeneric_test.go: reported
// in another trail does not count, as the message names the trail).
func TestArtifactsAreKeptPerTrail(t *testing.T) {
	srv, base := startFake(t)
	put := func(path, data string) int {
		body, ctype := multipartJSON(t, data)
		status, _ := send(t, http.MethodPut, base+path, token, body, ctype)
		return status
	}
	if put("/flows/cyber-dojo/template_file", `{"name": "promo"}`) != 201 || put("/trails/cyber-dojo/promo", `{"name": "r1"}`) != 201 ||
		put("/trails/cyber-dojo/promo", `{"name": "r2"}`) != 201 {
		t.Fatal("setup")
	}
	const fp = "337fa91d02fa59729aca2941bbfebf999d1c5ae74b1492a4c99a33a925c7f052"
	if status, m := sendJSON(t, "POST", base+"/artifacts/cyber-dojo/promo", `{"fingerprint": "`+fp+`", "filename": "web", "template_reference_name": "web", "trail_name": "r3"}`); status != 404 {
		t.Errorf("unknown trail: %d %v", status, m)
	}
	if status, m := sendJSON(t, "POST", base+"/artifacts/cyber-dojo/promo", `{"fingerprint": "xyz", "filename": "web", "trail_name": "r1"}`); status != 400 {
		t.Errorf("bad fingerprint: %d %v", status, m)
	}
	if status, m := sendJSON(t, "POST", base+"/artifacts/cyber-dojo/promo", `{"fingerprint": "`+fp+`", "filename": "web", "template_reference_name": "web", "trail_name": "r1"}`); status != 201 {
		t.Fatalf("report: %d %v", status, m)
	}
	if got := srv.Artifacts(); len(got) != 1 || got[0].Trail != "r1" || got[0].TemplateReferenceName != "web" {
		t.Errorf("artifacts = %+v", got)
	}
	body, ctype := multipartJSON(t, `{"attestation_name": "a", "is_compliant": true, "artifact_fingerprint": "`+fp+`"}`)
	status, m := send(t, http.MethodPost, base+"/attestations/cyber-dojo/promo/trail/r2/generic", token, body, ctype)
	want := "Artifact with fingerprint " + fp + ` does not exist in trail "r2" of flow "promo" belonging to organization "cyber-dojo"`
	if status != 404 || m["message"] != want {
		t.Errorf("another trail: %d %v", status, m)
	}
	body, ctype = multipartJSON(t, `{"attestation_name": "a", "is_compliant": true, "artifact_fingerprint": "`+fp+`"}`)
	if status, m := send(t, http.MethodPost, base+"/attestations/cyber-dojo/promo/trail/r1/generic", token, body, ctype); status != 201 {
		t.Errorf("its trail: %d %v", status, m)
	}
}

// GET /custom-attestation-types/{org}/{name} answers the type, or
// "Custom attestation type 'foo' does not exist for org '…'"
// (kosli-dev/cli cmd/kosli/getAttestationType_test.go).
func TestAttestationTypesAsTheServerKeepsThem(t *testing.T) {
	srv, base := startFake(t)
	status, body := get(t, srv, "/api/v2/custom-attestation-types/cyber-dojo/foo", nil)
	if status != 404 || !strings.Contains(string(body), "Custom attestation type 'foo' does not exist for org 'cyber-dojo'") {
		t.Errorf("unknown: %d %s", status, body)
	}
	b, ctype := multipartFields(t, map[string]string{"data_json": `{"name": "foo", "description": "d"}`}, "type_schema", `{"type": "object"}`)
	if status, m := send(t, "POST", base+"/custom-attestation-types/cyber-dojo", token, b, ctype); status != 201 {
		t.Fatalf("create: %d %v", status, m)
	}
	status, body = get(t, srv, "/api/v2/custom-attestation-types/cyber-dojo/foo", nil)
	if status != 200 || !strings.Contains(string(body), `"name":"foo"`) {
		t.Errorf("known: %d %s", status, body)
	}
	if got := srv.AttestationTypes(); len(got) != 1 || got[0].Schema != `{"type": "object"}` || got[0].Description != "d" {
		t.Errorf("types = %+v", got)
	}
}
