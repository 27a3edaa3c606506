package kosli_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/release-bot/release-bot/internal/kosli"
	"github.com/release-bot/release-bot/internal/kosli/kositest"
)

const (
	promoFlow  = "production-promotion"
	promoTrail = "release-42"
	control    = "release-approved"
)

// reportWeb reports fpWeb into the release's trail.
func reportWeb(t *testing.T, h *harness) {
	t.Helper()
	if err := h.c.ReportArtifact(ctx(t), promoFlow, kosli.Artifact{
		Fingerprint: fpWeb, Name: "244531986313.dkr.ecr.eu-central-1.amazonaws.com/web@sha256:" + fpWeb,
		GitCommit: "fa32058a046015786d1589e16af7da0973f2e726",
		CommitURL: "https://github.com/cyber-dojo/web/commit/fa32058a046015786d1589e16af7da0973f2e726",
		BuildURL:  "https://github.com/cyber-dojo/web/actions/runs/1", TemplateReferenceName: "web", TrailName: promoTrail,
	}); err != nil {
		t.Fatal(err)
	}
}

// The body is the JSON `kosli attest artifact` sends, to POST /artifacts/{org}/{flow}
// (kosli-dev/cli cmd/kosli/attestArtifact.go, AttestArtifactPayload: the
// artifact's name goes in "filename", the template's in "template_reference_name";
// annotations is omitempty).
func TestReportArtifact(t *testing.T) {
	h := setup(t)
	setupTrail(t, h)
	reportWeb(t, h)
	if err := h.c.ReportArtifact(ctx(t), promoFlow, kosli.Artifact{
		Fingerprint: fpNginx, Name: "nginx", TemplateReferenceName: "nginx", TrailName: promoTrail,
		Annotations: map[string]string{"release_id": "42"},
	}); err != nil {
		t.Fatal(err)
	}
	reqs := h.srv.RequestsTo(kositest.RouteArtifacts)
	if len(reqs) != 2 || reqs[0].Method != "POST" || reqs[0].Path != "/api/v2/artifacts/cyber-dojo/production-promotion" ||
		reqs[0].ContentType != "application/json" {
		t.Fatalf("requests = %+v", reqs)
	}
	got := h.srv.Artifacts()
	web, nginx := got[0], got[1]
	if web.Flow != promoFlow || web.Trail != promoTrail || web.TemplateReferenceName != "web" || web.Fingerprint != fpWeb ||
		web.Filename != "244531986313.dkr.ecr.eu-central-1.amazonaws.com/web@sha256:"+fpWeb || web.GitCommit != "fa32058a046015786d1589e16af7da0973f2e726" ||
		web.BuildURL != "https://github.com/cyber-dojo/web/actions/runs/1" || !strings.HasSuffix(web.CommitURL, "/commit/fa32058a046015786d1589e16af7da0973f2e726") {
		t.Errorf("web = %+v", web)
	}
	want := []string{"build_url", "commit_url", "filename", "fingerprint", "git_commit", "template_reference_name", "trail_name"}
	if keys := payloadKeys(web.Payload); !reflect.DeepEqual(keys, want) {
		t.Errorf("keys = %v, want %v", keys, want)
	}
	if !reflect.DeepEqual(nginx.Annotations, map[string]string{"release_id": "42"}) {
		t.Errorf("nginx = %+v", nginx)
	}
}

func TestReportArtifactValidatesBeforeSending(t *testing.T) {
	h := setup(t)
	ok := kosli.Artifact{Fingerprint: fpWeb, Name: "web", TemplateReferenceName: "web", TrailName: "r1"}
	for _, c := range []struct {
		name string
		flow string
		edit func(*kosli.Artifact)
		want string
	}{
		{"fingerprint", "promo", func(a *kosli.Artifact) { a.Fingerprint = "sha256:" + fpWeb },
			`kosli: artifact fingerprint "sha256:` + fpWeb + `" is not valid: it must be a sha256 in lower-case hex (64 characters)`},
		{"flow", "-promo", func(*kosli.Artifact) {},
			`kosli: flow name "-promo" is not valid: it must start with a letter or digit and hold only letters, digits, '.', '-', '_' and '~'`},
		{"trail", "promo", func(a *kosli.Artifact) { a.TrailName = "" },
			`kosli: trail name "" is not valid: it must start with a letter or digit and hold only letters, digits, '.', '-', '_' and '~'`},
		{"template name", "promo", func(a *kosli.Artifact) { a.TemplateReferenceName = "web app" },
			`kosli: template reference name "web app" is not valid: it must start with a letter or digit and hold only letters, digits, '.', '-', '_' and '~'`},
		{"name", "promo", func(a *kosli.Artifact) { a.Name = " " }, `kosli: artifact name " " is not valid: it must not be empty`},
		{"annotation", "promo", func(a *kosli.Artifact) { a.Annotations = map[string]string{"release-id": "1"} },
			`kosli: annotation key "release-id" is not valid: it must hold only letters, digits and '_'`},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := ok
			c.edit(&a)
			err := h.c.ReportArtifact(ctx(t), c.flow, a)
			var v *kosli.ValidationError
			if !errors.As(err, &v) || err.Error() != c.want {
				t.Errorf("error:\n got %v\nwant %s", err, c.want)
			}
		})
	}
	if n := len(h.srv.Requests()); n != 0 {
		t.Errorf("%d requests were sent", n)
	}
}

// An attestation bound to a fingerprint the trail has not seen is refused,
// in the server's words (kosli-dev/cli cmd/kosli/attestGeneric_test.go and
// attestCustom_test.go, "attesting against an artifact that does not exist
// fails"); the CLI's tests report the artifact on the trail first
// (CreateArtifactOnTrail). The 404 is *inferred*: the goldens show only the message.
func TestAttestationToAnUnreportedFingerprintIsRefused(t *testing.T) {
	h := setup(t)
	setupTrail(t, h)
	a := kosli.Attestation{Name: "approval", Compliant: yes(), ArtifactFingerprint: fpWeb}
	err := h.c.AttestGeneric(ctx(t), promoFlow, promoTrail, a)
	var api *kosli.APIError
	want := `Artifact with fingerprint ` + fpWeb + ` does not exist in trail "release-42" of flow "production-promotion" belonging to organization "cyber-dojo"`
	if !errors.As(err, &api) || api.Status != 404 || api.Message != want {
		t.Fatalf("err = %v", err)
	}
	reportWeb(t, h)
	if err := h.c.AttestGeneric(ctx(t), promoFlow, promoTrail, a); err != nil {
		t.Fatal(err)
	}
	if n := len(h.srv.Attestations()); n != 1 {
		t.Errorf("%d attestations", n)
	}
}

// A custom attestation of a type the org lacks, and a decision for a control
// it lacks, are refused with the wording the server uses for those unknown
// names (kosli-dev/cli cmd/kosli/getAttestationType_test.go, getControl_test.go);
// that the attestation endpoints refuse them so, with a 404, is *inferred*
// (the CLI's tests create the type and the control first: attestCustom_test.go,
// attestDecision_test.go).
func TestAttestationsNamingUnknownTypesOrControlsAreRefused(t *testing.T) {
	h := setup(t)
	setupTrail(t, h)
	err := h.c.AttestCustom(ctx(t), promoFlow, promoTrail, kosli.Attestation{Name: "m", TypeName: "release-manifest"})
	var api *kosli.APIError
	if !errors.As(err, &api) || api.Status != 404 || api.Message != "Custom attestation type 'release-manifest' does not exist for org 'cyber-dojo'" {
		t.Errorf("custom: %v", err)
	}
	err = h.c.AttestDecision(ctx(t), promoFlow, promoTrail, kosli.Attestation{Name: "d", Compliant: yes(), Control: control})
	if !errors.As(err, &api) || api.Status != 404 || api.Message != "Control 'release-approved' does not exist in organization 'cyber-dojo'" {
		t.Errorf("decision: %v", err)
	}
	if n := len(h.srv.Attestations()); n != 0 {
		t.Errorf("%d attestations", n)
	}
}

// The type is looked up as `kosli get attestation-type` does (GET
// /custom-attestation-types/{org}/{name}, a 404 "Custom attestation type 'foo'
// does not exist for org …": cmd/kosli/getAttestationType_test.go) and
// created as `kosli create attestation-type` does (POST, multipart data_json
// {name, description} plus a type_schema file: cmd/kosli/createAttestationType.go).
func TestEnsureAttestationType(t *testing.T) {
	h := setup(t)
	schema := []byte(`{"type": "object", "required": ["artifacts"]}`)
	for range 2 {
		if err := h.c.EnsureAttestationType(ctx(t), "release-manifest", "what a release ships", schema); err != nil {
			t.Fatal(err)
		}
	}
	want := []kositest.AttestationType{{Name: "release-manifest", Description: "what a release ships", Schema: string(schema), Versions: 1}}
	if got := h.srv.AttestationTypes(); !reflect.DeepEqual(got, want) {
		t.Errorf("types = %+v", got)
	}
	var calls []string
	for _, r := range h.srv.RequestsTo(kositest.RouteAttestationTypes) {
		calls = append(calls, r.Method+" "+r.Path)
	}
	wantCalls := []string{
		"GET /api/v2/custom-attestation-types/cyber-dojo/release-manifest",
		"POST /api/v2/custom-attestation-types/cyber-dojo",
		"GET /api/v2/custom-attestation-types/cyber-dojo/release-manifest",
	}
	if !reflect.DeepEqual(calls, wantCalls) {
		t.Errorf("calls = %v", calls)
	}
	// Without a schema no file is sent.
	if err := h.c.EnsureAttestationType(ctx(t), "plain", "", nil); err != nil {
		t.Fatal(err)
	}
	if got := h.srv.AttestationTypes()[1]; got.Schema != "" || got.Name != "plain" {
		t.Errorf("plain = %+v", got)
	}
	h.srv.FailNext(kositest.RouteAttestationTypes, 1, 403)
	if err := h.c.EnsureAttestationType(ctx(t), "other", "", nil); !errors.Is(err, kosli.ErrForbidden) {
		t.Errorf("a refused lookup: %v", err)
	}
}

// GET /controls/{org}/{identifier} answers the control (kosli-dev/cli
// cmd/kosli/getControl.go reads identifier, name, description), and an
// unknown one "Control 'no-such-control' does not exist in org…"
// (cmd/kosli/getControl_test.go).
func TestControl(t *testing.T) {
	h := setup(t)
	h.srv.AddControl(control, "Release approved")
	got, err := h.c.Control(ctx(t), control)
	if err != nil || got != (kosli.Control{Identifier: control, Name: "Release approved"}) {
		t.Fatalf("control = %+v, %v", got, err)
	}
	h.srv.DeleteControl(control)
	_, err = h.c.Control(ctx(t), control)
	var api *kosli.APIError
	if !errors.Is(err, kosli.ErrNotFound) || !errors.As(err, &api) ||
		!strings.HasPrefix(api.Message, "Control 'release-approved' does not exist in org") {
		t.Fatalf("err = %v", err)
	}
	if want := `Kosli has no control "release-approved" in org "cyber-dojo"`; api.Summary != want {
		t.Errorf("summary = %q", api.Summary)
	}
	if _, err := h.c.Control(ctx(t), "bad id"); err == nil || !strings.Contains(err.Error(), `control identifier "bad id" is not valid`) {
		t.Errorf("bad id: %v", err)
	}
}

// GET /attestations/{org}/{flow}/trail/{trail}/{name} is `kosli get attestation
// NAME --flow F --trail T` (kosli-dev/cli cmd/kosli/getAttestation.go): a list,
// [] when there is none (getAttestation_test.go case 02), each with
// attestation_name, attestation_type, is_compliant, artifact_fingerprint,
// created_at (epoch seconds) and html_url.
func TestTrailAttestations(t *testing.T) {
	h := setup(t)
	setupTrail(t, h)
	t0 := time.Unix(1764763200, 0).UTC()
	h.srv.SetClock(func() time.Time { return t0 })
	got, err := h.c.TrailAttestations(ctx(t), promoFlow, promoTrail, "approval")
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf("none: %#v, %v", got, err)
	}
	reportWeb(t, h)
	for _, a := range []kosli.Attestation{
		{Name: "approval", Compliant: yes(), ArtifactFingerprint: fpWeb, UserData: map[string]any{"by": "U1"}},
		{Name: "approval", Compliant: no()},
		{Name: "other", Compliant: yes()},
	} {
		if err := h.c.AttestGeneric(ctx(t), promoFlow, promoTrail, a); err != nil {
			t.Fatal(err)
		}
	}
	got, err = h.c.TrailAttestations(ctx(t), promoFlow, promoTrail, "approval")
	if err != nil || len(got) != 2 {
		t.Fatalf("got %+v, %v", got, err)
	}
	url := "https://app.kosli.com/cyber-dojo/flows/production-promotion/trails/release-42"
	want := []kosli.RecordedAttestation{
		{Name: "approval", Type: "generic", ArtifactFingerprint: fpWeb, IsCompliant: true, UserData: map[string]any{"by": "U1"}, CreatedAt: t0, HTMLURL: url},
		{Name: "approval", Type: "generic", IsCompliant: false, CreatedAt: t0, HTMLURL: url},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if last := h.srv.Requests()[len(h.srv.Requests())-1]; last.Method != "GET" ||
		last.Path != "/api/v2/attestations/cyber-dojo/production-promotion/trail/release-42/approval" {
		t.Errorf("request %s %s", last.Method, last.Path)
	}
	// The answer by attestation id wraps the list in "data"; the CLI reads both, and so does the client.
	h.srv.Script(kositest.RouteAttestations, kositest.Response{Body: `{"data": [{"attestation_name": "approval", "is_compliant": true, "created_at": 1764763200.5}]}`})
	got, err = h.c.TrailAttestations(ctx(t), promoFlow, promoTrail, "approval")
	if err != nil || len(got) != 1 || !got[0].IsCompliant || !got[0].CreatedAt.Equal(t0.Add(500*time.Millisecond)) {
		t.Errorf("wrapped: %+v, %v", got, err)
	}
}

// A write to a trail another writer holds answers 409 with Retry-After. The
// CLI retries a 409 as a lock conflict (kosli-dev/cli internal/requests/requests.go,
// customCheckRetry); the client leaves a write's 409 to its caller (the write
// rules repeat only 429 and 503), with the wait the server asked for.
func TestATrailLockConflictIsA409WithRetryAfter(t *testing.T) {
	h := setup(t)
	setupTrail(t, h)
	h.srv.ConflictNext(promoTrail, 2, 7*time.Second)
	a := kosli.Attestation{Name: "approval", Compliant: yes()}
	for range 2 {
		err := h.c.AttestGeneric(ctx(t), promoFlow, promoTrail, a)
		var api *kosli.APIError
		if !errors.As(err, &api) || api.Status != 409 || api.RetryAfter != 7*time.Second || api.Message != "resource temporarily locked" {
			t.Fatalf("err = %v", err)
		}
	}
	if err := h.c.AttestGeneric(ctx(t), promoFlow, promoTrail, a); err != nil {
		t.Fatal(err)
	}
	if n := len(h.srv.RequestsTo(kositest.RouteAttestations)); n != 3 {
		t.Errorf("%d requests", n)
	}
	if n := len(h.srv.Attestations()); n != 1 {
		t.Errorf("%d attestations", n)
	}
	// A scripted failure can carry Retry-After too.
	h.srv.FailNextAfter(kositest.RouteArtifacts, 1, 409, 3*time.Second)
	err := h.c.ReportArtifact(ctx(t), promoFlow, kosli.Artifact{Fingerprint: fpWeb, Name: "web", TemplateReferenceName: "web", TrailName: promoTrail})
	var api *kosli.APIError
	if !errors.As(err, &api) || api.Status != 409 || api.RetryAfter != 3*time.Second {
		t.Errorf("scripted: %v", err)
	}
}
