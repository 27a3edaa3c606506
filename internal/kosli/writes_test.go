package kosli_test

import (
	"encoding/json"
	"errors"
	"net"
	"reflect"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/release-bot/release-bot/internal/kosli"
	"github.com/release-bot/release-bot/internal/kosli/kositest"
	"github.com/release-bot/release-bot/internal/secret/secrettest"
)

func yes() *bool { b := true; return &b }
func no() *bool  { b := false; return &b }

// setupTrail creates the flow and trail the attestations go to.
func setupTrail(t *testing.T, h *harness) {
	t.Helper()
	if err := h.c.EnsureFlow(ctx(t), "production-promotion", "promotions to aws-prod"); err != nil {
		t.Fatal(err)
	}
	if err := h.c.BeginTrail(ctx(t), "production-promotion", kosli.Trail{
		Name: "release-42", Description: "web and nginx to prod", OriginURL: "https://slack.example/archives/C1/p1",
		UserData: map[string]any{"release_id": "42"},
	}); err != nil {
		t.Fatal(err)
	}
}

func TestEnsureFlowAndBeginTrail(t *testing.T) {
	h := setup(t)
	setupTrail(t, h)
	if err := h.c.EnsureFlow(ctx(t), "production-promotion", "updated"); err != nil { // an update is fine too
		t.Fatal(err)
	}
	flows := h.srv.Flows()
	if len(flows) != 1 || flows[0].Name != "production-promotion" || flows[0].Description != "updated" || flows[0].Template != "version: 1\n" {
		t.Errorf("flows = %+v", flows)
	}
	want := []kositest.Trail{{Flow: "production-promotion", Name: "release-42", Description: "web and nginx to prod",
		OriginURL: "https://slack.example/archives/C1/p1", UserData: map[string]any{"release_id": "42"}}}
	if got := h.srv.Trails(); !reflect.DeepEqual(got, want) {
		t.Errorf("trails = %+v", got)
	}
	for _, r := range h.srv.Requests() {
		if !strings.HasPrefix(r.ContentType, "multipart/form-data; boundary=") {
			t.Errorf("%s %s sent %q", r.Method, r.Path, r.ContentType)
		}
	}
	if r := h.srv.Requests()[1]; r.Method != "PUT" || r.Path != "/api/v2/trails/cyber-dojo/production-promotion" {
		t.Errorf("trail request: %s %s", r.Method, r.Path)
	}
}

func TestAttestations(t *testing.T) {
	h := setup(t)
	setupTrail(t, h)
	const flow, trail = "production-promotion", "release-42"
	h.srv.AddAttestationType("release-manifest", "")
	h.srv.AddControl("release-approved", "Release approved")
	manifest := map[string]any{"schemaVersion": "1", "artifacts": []any{map[string]any{"name": "web", "digest": "sha256:" + fpWeb}}}

	if err := h.c.AttestCustom(ctx(t), flow, trail, kosli.Attestation{
		Name: "manifest", TypeName: "release-manifest", Data: manifest,
		Annotations: map[string]string{"release_id": "42"}, OriginURL: "https://slack.example/p1", Description: "what ships",
	}); err != nil {
		t.Fatal(err)
	}
	if err := h.c.ReportArtifact(ctx(t), flow, kosli.Artifact{
		Fingerprint: fpWeb, Name: "web", TemplateReferenceName: "web", TrailName: trail,
	}); err != nil {
		t.Fatal(err)
	}
	if err := h.c.AttestGeneric(ctx(t), flow, trail, kosli.Attestation{
		Name: "approval", Compliant: yes(), ArtifactFingerprint: fpWeb, UserData: map[string]any{"approvers": []any{"U1", "U2"}},
		Data: map[string]any{"dropped": true},
	}); err != nil {
		t.Fatal(err)
	}
	if err := h.c.AttestDecision(ctx(t), flow, trail, kosli.Attestation{Name: "release-decision", Compliant: no(), Control: "release-approved"}); err != nil {
		t.Fatal(err)
	}

	got := h.srv.Attestations()
	if len(got) != 3 {
		t.Fatalf("%d attestations", len(got))
	}
	custom, generic, decision := got[0], got[1], got[2]
	var data map[string]any
	_ = json.Unmarshal(custom.Data, &data)
	if custom.Kind != "custom" || custom.TypeName != "release-manifest" || custom.Name != "manifest" ||
		!reflect.DeepEqual(data, manifest) || custom.Annotations["release_id"] != "42" ||
		custom.Payload["origin_url"] != "https://slack.example/p1" || custom.Payload["description"] != "what ships" {
		t.Errorf("custom = %+v", custom)
	}
	if generic.Kind != "generic" || generic.Compliant == nil || !*generic.Compliant || generic.ArtifactFingerprint != fpWeb ||
		generic.Payload["type_name"] != nil || !reflect.DeepEqual(generic.Payload["user_data"], map[string]any{"approvers": []any{"U1", "U2"}}) {
		t.Errorf("generic = %+v", generic)
	}
	// The CLI sends no attestation_data on a generic attestation
	// (kosli-dev/cli cmd/kosli/attestGeneric.go, GenericAttestationPayload),
	// and omits empty origin_url, user_data, description, annotations and
	// artifact_fingerprint (cmd/kosli/attestation.go, CommonAttestationPayload).
	if keys := payloadKeys(generic.Payload); !reflect.DeepEqual(keys, []string{"artifact_fingerprint", "attestation_name", "is_compliant", "user_data"}) {
		t.Errorf("generic data_json keys = %v", keys)
	}
	// A decision: type_name "decision", the control, attestation_data {is_compliant}
	// (kosli-dev/cli cmd/kosli/attestDecision.go, DecisionAttestationPayload).
	if decision.Kind != "system" || decision.TypeName != "decision" || decision.Control != "release-approved" ||
		decision.Compliant == nil || *decision.Compliant || string(decision.Data) != `{"is_compliant":false}` {
		t.Errorf("decision = %+v", decision)
	}
	if keys := payloadKeys(decision.Payload); !reflect.DeepEqual(keys, []string{"attestation_data", "attestation_name", "control", "type_name"}) {
		t.Errorf("decision data_json keys = %v", keys)
	}
	paths := []string{}
	for _, r := range h.srv.RequestsTo(kositest.RouteAttestations) {
		paths = append(paths, r.Method+" "+r.Path)
	}
	wantPaths := []string{
		"POST /api/v2/attestations/cyber-dojo/production-promotion/trail/release-42/custom",
		"POST /api/v2/attestations/cyber-dojo/production-promotion/trail/release-42/generic",
		"POST /api/v2/attestations/cyber-dojo/production-promotion/trail/release-42/system",
	}
	if !reflect.DeepEqual(paths, wantPaths) {
		t.Errorf("paths = %v", paths)
	}
}

// Invalid names are refused before anything is sent.
func TestWritesValidateBeforeSending(t *testing.T) {
	h := setup(t)
	ok := kosli.Attestation{Name: "approval", Compliant: yes()}
	for _, c := range []struct {
		name string
		call func() error
		want string
	}{
		{"flow name", func() error { return h.c.EnsureFlow(ctx(t), "-promotion", "") },
			`kosli: flow name "-promotion" is not valid: it must start with a letter or digit and hold only letters, digits, '.', '-', '_' and '~'`},
		{"trail name", func() error { return h.c.BeginTrail(ctx(t), "promo", kosli.Trail{Name: "release 42"}) },
			`kosli: trail name "release 42" is not valid: it must start with a letter or digit and hold only letters, digits, '.', '-', '_' and '~'`},
		{"trail of an attestation", func() error { return h.c.AttestGeneric(ctx(t), "promo", "rel#1", ok) },
			`kosli: trail name "rel#1" is not valid: it must start with a letter or digit and hold only letters, digits, '.', '-', '_' and '~'`},
		{"annotation key", func() error {
			return h.c.AttestGeneric(ctx(t), "promo", "r1", kosli.Attestation{Name: "a", Compliant: yes(), Annotations: map[string]string{"ok_key": "", "release-id": "42"}})
		}, `kosli: annotation key "release-id" is not valid: it must hold only letters, digits and '_'`},
		{"fingerprint", func() error {
			return h.c.AttestGeneric(ctx(t), "promo", "r1", kosli.Attestation{Name: "a", Compliant: yes(), ArtifactFingerprint: "sha256:abc"})
		}, `kosli: artifact fingerprint "sha256:abc" is not valid: it must be a sha256 in lower-case hex (64 characters)`},
		{"generic without a verdict", func() error { return h.c.AttestGeneric(ctx(t), "promo", "r1", kosli.Attestation{Name: "a"}) },
			`kosli: generic attestation "a" is not valid: say whether it is compliant (Compliant must be set)`},
		{"decision without a verdict", func() error { return h.c.AttestDecision(ctx(t), "promo", "r1", kosli.Attestation{Name: "d"}) },
			`kosli: decision "d" is not valid: say whether it is compliant (Compliant must be set)`},
		{"custom without a type", func() error { return h.c.AttestCustom(ctx(t), "promo", "r1", kosli.Attestation{Name: "m"}) },
			`kosli: custom attestation type "" is not valid: a custom attestation needs its type's name`},
		{"attestation without a name", func() error {
			return h.c.AttestDecision(ctx(t), "promo", "r1", kosli.Attestation{Compliant: yes(), Control: "release-approved"})
		}, `kosli: attestation name "" is not valid: it must not be empty`},
		{"decision without a control", func() error {
			return h.c.AttestDecision(ctx(t), "promo", "r1", kosli.Attestation{Name: "d", Compliant: yes()})
		},
			`kosli: decision control "" is not valid: a decision needs the identifier of the control it is for`},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.call()
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

// A write is repeated only when Kosli certainly did not act on it.
func TestWriteRetries(t *testing.T) {
	for _, c := range []struct {
		name         string
		script       []kositest.Response
		timeout      time.Duration
		requests     int
		attestations int
		waits        []time.Duration
		wantError    string
	}{
		{name: "429 is repeated after Retry-After",
			script:   []kositest.Response{{Status: 429, Headers: map[string]string{"Retry-After": "5"}, Body: "{}"}},
			requests: 2, attestations: 1, waits: []time.Duration{5 * time.Second}},
		{name: "503 is repeated",
			script:   times(2, fail(503, "{}")),
			requests: 3, attestations: 1, waits: []time.Duration{time.Second, 2 * time.Second}},
		{name: "500 is not repeated: Kosli may have recorded it",
			script:   times(2, fail(500, `{"message": "oops"}`)),
			requests: 1, wantError: "Kosli answered 500 to POST /api/v2/attestations/cyber-dojo/production-promotion/trail/release-42/generic: oops"},
		{name: "a timeout is not repeated: the POST may have landed",
			script: []kositest.Response{kositest.Hang()}, timeout: 50 * time.Millisecond,
			requests: 1, wantError: "Kosli at {host} did not answer POST /api/v2/attestations/cyber-dojo/production-promotion/trail/release-42/generic within 50ms"},
		{name: "a 404 names the trail",
			script:   []kositest.Response{fail(404, `{"message": "Trail 'release-42' does not exist"}`)},
			requests: 1, wantError: `Kosli has no trail "release-42" in flow "production-promotion" in org "cyber-dojo", or not what the attestation refers to (Kosli answered 404 to POST /api/v2/attestations/cyber-dojo/production-promotion/trail/release-42/generic: Trail 'release-42' does not exist)`},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := setup(t, func(o *kosli.Options) {
				if c.timeout > 0 {
					o.Timeout = c.timeout
				}
			})
			setupTrail(t, h)
			h.srv.Script(kositest.RouteAttestations, c.script...)
			err := h.c.AttestGeneric(ctx(t), "production-promotion", "release-42", kosli.Attestation{Name: "approval", Compliant: yes()})
			if want := strings.ReplaceAll(c.wantError, "{host}", h.srv.URL()); want == "" && err != nil {
				t.Fatalf("err = %v", err)
			} else if want != "" && (err == nil || err.Error() != want) {
				t.Fatalf("error:\n got %v\nwant %s", err, want)
			}
			if n := len(h.srv.RequestsTo(kositest.RouteAttestations)); n != c.requests {
				t.Errorf("%d requests, want %d", n, c.requests)
			}
			if n := len(h.srv.Attestations()); n != c.attestations {
				t.Errorf("%d attestations recorded, want %d", n, c.attestations)
			}
			if got := h.Waits(); !reflect.DeepEqual(got, c.waits) && (len(got) > 0 || len(c.waits) > 0) {
				t.Errorf("waits = %v, want %v", got, c.waits)
			}
			secrettest.AssertErrAbsent(t, err, token)
		})
	}
}

// A refused connection never reached Kosli, so even a write is repeated.
func TestWriteRetriesARefusedConnection(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close() // nothing listens there now
	h := setup(t, func(o *kosli.Options) { o.Host = "http://" + addr + "/kosli" })

	err = h.c.AttestDecision(ctx(t), "production-promotion", "release-42", kosli.Attestation{Name: "d", Compliant: yes(), Control: "release-approved"})
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("err = %v", err)
	}
	want := "Kosli at http://" + addr + "/kosli could not be reached (POST /api/v2/attestations/cyber-dojo/production-promotion/trail/release-42/system): dial tcp " + addr + ": connect: connection refused"
	if err.Error() != want {
		t.Errorf("error:\n got %v\nwant %s", err, want)
	}
	if n := len(h.Observed()); n != 4 {
		t.Errorf("%d attempts, want 4", n)
	}
	secrettest.AssertErrAbsent(t, err, token)
}

func payloadKeys(p map[string]any) []string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
