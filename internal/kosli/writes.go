package kosli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"regexp"
	"sort"
)

// Writes are repeated only when they certainly did not take effect (see
// retryableWrite): an attestation posted twice is recorded twice, and an
// evidence trail with duplicates is worse than a failure the caller sees.

var (
	// namePattern is Kosli's rule for flow and trail names.
	namePattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9.\-_~]*$`)
	// annotationKeyPattern is Kosli's rule for annotation keys.
	annotationKeyPattern = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
	// fingerprintPattern is a sha256 in lower-case hex.
	fingerprintPattern = regexp.MustCompile(`^[a-f0-9]{64}$`)
	// controlIDPattern is Kosli's rule for control identifiers.
	controlIDPattern = regexp.MustCompile(`^[a-zA-Z0-9\-._~]+$`)
)

const nameRule = "it must start with a letter or digit and hold only letters, digits, '.', '-', '_' and '~'"

// minimalTemplate is the template the Kosli CLI sends for --use-empty-template:
// a flow that expects no particular attestations.
const minimalTemplate = "version: 1\n"

// Trail is a trail to begin in a flow: release-bot begins one per release.
type Trail struct {
	// Name must match ^[a-zA-Z0-9][a-zA-Z0-9.\-_~]*$.
	Name        string
	Description string
	// OriginURL links back to where the trail began (the release's Slack message).
	OriginURL string
	UserData  map[string]any
}

// Attestation is one piece of evidence recorded on a trail.
type Attestation struct {
	// Name is the attestation's name in the trail, e.g. "approval".
	Name string
	// TypeName is the custom attestation type (AttestCustom only).
	TypeName string
	// Control is the identifier of the org's control a decision is recorded
	// for (AttestDecision only, required there).
	Control string
	// Data is the attestation's content (attestation_data, AttestCustom
	// only: a generic attestation has none, and a decision's is its verdict).
	Data any
	// Compliant is the verdict; required by AttestGeneric and AttestDecision.
	Compliant *bool
	// Annotations are key/value labels; keys must match ^[A-Za-z0-9_]+$.
	Annotations map[string]string
	UserData    map[string]any
	OriginURL   string
	Description string
	// ArtifactFingerprint binds the attestation to an artifact (sha256 hex); empty binds it to the trail.
	ArtifactFingerprint string
}

// EnsureFlow creates the flow, or updates its description, with a template
// that requires nothing.
//
// API: https://app.kosli.com/api/v2/doc/#/Flows/create_flow_with_template
func (c *Client) EnsureFlow(ctx context.Context, name, description string) error {
	if err := checkName("flow name", name); err != nil {
		return err
	}
	body, err := multipartBody(map[string]string{"name": name, "description": description},
		formFile{field: "template_file", name: "template.yml", content: []byte(minimalTemplate)})
	if err != nil {
		return err
	}
	_, _, err = c.do(ctx, call{
		method: http.MethodPut, route: "PUT /flows/{org}/template_file",
		path: []string{"flows", c.org, "template_file"}, body: body, write: true,
	})
	return err
}

// BeginTrail begins trail t in flow, or updates it if it exists.
//
// API: https://app.kosli.com/api/v2/doc/#/Trails
func (c *Client) BeginTrail(ctx context.Context, flow string, t Trail) error {
	if err := checkName("flow name", flow); err != nil {
		return err
	}
	if err := checkName("trail name", t.Name); err != nil {
		return err
	}
	body, err := multipartBody(map[string]any{
		"name": t.Name, "description": t.Description, "origin_url": t.OriginURL, "user_data": orEmpty(t.UserData),
	})
	if err != nil {
		return err
	}
	_, _, err = c.do(ctx, call{
		method: http.MethodPut, route: "PUT /trails/{org}/{flow}",
		path: []string{"trails", c.org, flow}, body: body, write: true,
		notFound: fmt.Sprintf("Kosli has no flow %q in org %q", flow, c.org),
	})
	return err
}

// AttestCustom records a's Data as an attestation of custom type a.TypeName.
//
// API: https://app.kosli.com/api/v2/doc/#/Attestation
func (c *Client) AttestCustom(ctx context.Context, flow, trail string, a Attestation) error {
	if a.TypeName == "" {
		return &ValidationError{Field: "custom attestation type", Value: "", Rule: "a custom attestation needs its type's name"}
	}
	p := c.payload(a)
	p.TypeName, p.Data = a.TypeName, orEmptyData(a.Data)
	return c.attest(ctx, flow, trail, "custom", a, p)
}

// AttestGeneric records a generic attestation with a's verdict.
//
// API: https://app.kosli.com/api/v2/doc/#/Attestation
func (c *Client) AttestGeneric(ctx context.Context, flow, trail string, a Attestation) error {
	if a.Compliant == nil {
		return &ValidationError{Field: "generic attestation", Value: a.Name, Rule: "say whether it is compliant (Compliant must be set)"}
	}
	p := c.payload(a)
	p.IsCompliant = a.Compliant // the CLI sends no attestation_data on a generic attestation (cmd/kosli/attestGeneric.go)
	return c.attest(ctx, flow, trail, "generic", a, p)
}

// AttestDecision records a release decision: a "decision" attestation for
// the org's control a.Control, compliant when the release was approved. An
// environment policy's `for_control` rule is satisfied by it (see
// kosli-dev/cli cmd/kosli/attestDecision.go, a beta command).
//
// API: https://app.kosli.com/api/v2/doc/#/Attestation
func (c *Client) AttestDecision(ctx context.Context, flow, trail string, a Attestation) error {
	if a.Compliant == nil {
		return &ValidationError{Field: "decision", Value: a.Name, Rule: "say whether it is compliant (Compliant must be set)"}
	}
	if a.Control == "" {
		return &ValidationError{Field: "decision control", Value: "", Rule: "a decision needs the identifier of the control it is for"}
	}
	p := c.payload(a)
	p.TypeName, p.Control = "decision", a.Control
	p.Data = map[string]bool{"is_compliant": *a.Compliant}
	return c.attest(ctx, flow, trail, "system", a, p)
}

// attestationPayload is data_json of the attestation endpoints, with the
// omitempty fields of the CLI's CommonAttestationPayload
// (kosli-dev/cli cmd/kosli/attestation.go).
type attestationPayload struct {
	Name                string            `json:"attestation_name"`
	TypeName            string            `json:"type_name,omitempty"`
	Control             string            `json:"control,omitempty"`
	Data                any               `json:"attestation_data,omitempty"`
	IsCompliant         *bool             `json:"is_compliant,omitempty"`
	ArtifactFingerprint string            `json:"artifact_fingerprint,omitempty"`
	Annotations         map[string]string `json:"annotations,omitempty"`
	UserData            map[string]any    `json:"user_data,omitempty"`
	OriginURL           string            `json:"origin_url,omitempty"`
	Description         string            `json:"description,omitempty"`
}

func (c *Client) payload(a Attestation) attestationPayload {
	return attestationPayload{
		Name: a.Name, ArtifactFingerprint: a.ArtifactFingerprint, Annotations: a.Annotations,
		UserData: a.UserData, OriginURL: a.OriginURL, Description: a.Description,
	}
}

func (c *Client) attest(ctx context.Context, flow, trail, kind string, a Attestation, p attestationPayload) error {
	if err := checkAttestation(flow, trail, a); err != nil {
		return err
	}
	body, err := multipartBody(p)
	if err != nil {
		return err
	}
	_, _, err = c.do(ctx, call{
		method: http.MethodPost, route: "POST /attestations/{org}/{flow}/trail/{trail}/" + kind,
		path: []string{"attestations", c.org, flow, "trail", trail, kind}, body: body, write: true,
		// A 404 may also be about what the attestation names: an artifact the
		// trail has not seen, an unknown custom type or control.
		notFound: fmt.Sprintf("Kosli has no trail %q in flow %q in org %q, or not what the attestation refers to", trail, flow, c.org),
	})
	return err
}

func checkAttestation(flow, trail string, a Attestation) error {
	if err := checkName("flow name", flow); err != nil {
		return err
	}
	if err := checkName("trail name", trail); err != nil {
		return err
	}
	if a.Name == "" {
		return &ValidationError{Field: "attestation name", Value: "", Rule: "it must not be empty"}
	}
	if a.ArtifactFingerprint != "" {
		if err := checkFingerprint(a.ArtifactFingerprint); err != nil {
			return err
		}
	}
	return checkAnnotations(a.Annotations)
}

func checkFingerprint(fp string) error {
	if !fingerprintPattern.MatchString(fp) {
		return &ValidationError{Field: "artifact fingerprint", Value: fp, Rule: "it must be a sha256 in lower-case hex (64 characters)"}
	}
	return nil
}

func checkAnnotations(annotations map[string]string) error {
	keys := make([]string, 0, len(annotations))
	for k := range annotations {
		keys = append(keys, k)
	}
	sort.Strings(keys) // the same key is reported first every time
	for _, k := range keys {
		if !annotationKeyPattern.MatchString(k) {
			return &ValidationError{Field: "annotation key", Value: k, Rule: "it must hold only letters, digits and '_'"}
		}
	}
	return nil
}

func checkName(field, name string) error {
	if !namePattern.MatchString(name) {
		return &ValidationError{Field: field, Value: name, Rule: nameRule}
	}
	return nil
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func orEmptyData(d any) any {
	if d == nil {
		return map[string]any{}
	}
	return d
}

type formFile struct {
	field, name string
	content     []byte
}

// multipartBody encodes data as the data_json field, plus files, the way the
// Kosli CLI does. The JSON is encoded once, here, so that an unencodable
// value fails before anything is sent; the body is rebuilt for each attempt.
func multipartBody(data any, files ...formFile) (func() (io.Reader, string, error), error) {
	js, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("kosli: encoding data_json: %w", err)
	}
	return func() (io.Reader, string, error) {
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		part, err := w.CreateFormField("data_json")
		if err == nil {
			_, err = part.Write(js)
		}
		for _, f := range files {
			if err != nil {
				break
			}
			if part, err = w.CreateFormFile(f.field, f.name); err == nil {
				_, err = part.Write(f.content)
			}
		}
		if err == nil {
			err = w.Close()
		}
		return &buf, w.FormDataContentType(), err
	}, nil
}
