package kosli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Artifact is an artifact to report into a flow, and into one of its trails:
// release-bot reports each artifact of a release into the release's trail
// before it binds attestations to the artifact's fingerprint there (Kosli
// refuses an attestation for a fingerprint the trail has not seen).
type Artifact struct {
	// Fingerprint is the artifact's sha256, in lower-case hex.
	Fingerprint string
	// Name is what Kosli shows for the artifact (sent as "filename"), e.g. an image name.
	Name      string
	GitCommit string
	CommitURL string
	BuildURL  string
	// TemplateReferenceName is the artifact's name in the flow's template; it
	// must match ^[a-zA-Z0-9][a-zA-Z0-9.\-_~]*$.
	TemplateReferenceName string
	// TrailName is the trail the artifact is reported into.
	TrailName string
	// Annotations are key/value labels; keys must match ^[A-Za-z0-9_]+$.
	Annotations map[string]string
}

// artifactPayload is the JSON body `kosli attest artifact` sends
// (kosli-dev/cli cmd/kosli/attestArtifact.go, AttestArtifactPayload), less
// what release-bot has no source for: git_commit_info, repo_info, repo_url
// and external_urls.
type artifactPayload struct {
	Fingerprint           string            `json:"fingerprint"`
	Filename              string            `json:"filename"`
	GitCommit             string            `json:"git_commit"`
	BuildURL              string            `json:"build_url"`
	CommitURL             string            `json:"commit_url"`
	TemplateReferenceName string            `json:"template_reference_name"`
	TrailName             string            `json:"trail_name"`
	Annotations           map[string]string `json:"annotations,omitempty"`
}

// ReportArtifact reports a into flow, in trail a.TrailName.
//
// API: https://app.kosli.com/api/v2/doc/#/Artifacts
func (c *Client) ReportArtifact(ctx context.Context, flow string, a Artifact) error {
	if err := checkArtifact(flow, a); err != nil {
		return err
	}
	body, err := jsonBody(artifactPayload{
		Fingerprint: a.Fingerprint, Filename: a.Name, GitCommit: a.GitCommit, BuildURL: a.BuildURL,
		CommitURL: a.CommitURL, TemplateReferenceName: a.TemplateReferenceName, TrailName: a.TrailName,
		Annotations: a.Annotations,
	})
	if err != nil {
		return err
	}
	_, _, err = c.do(ctx, call{
		method: http.MethodPost, route: "POST /artifacts/{org}/{flow}",
		path: []string{"artifacts", c.org, flow}, body: body, write: true,
		notFound: fmt.Sprintf("Kosli has no flow %q, or no trail %q in it, in org %q", flow, a.TrailName, c.org),
	})
	return err
}

func checkArtifact(flow string, a Artifact) error {
	if err := checkName("flow name", flow); err != nil {
		return err
	}
	if err := checkName("trail name", a.TrailName); err != nil {
		return err
	}
	if err := checkName("template reference name", a.TemplateReferenceName); err != nil {
		return err
	}
	if strings.TrimSpace(a.Name) == "" {
		return &ValidationError{Field: "artifact name", Value: a.Name, Rule: "it must not be empty"}
	}
	if err := checkFingerprint(a.Fingerprint); err != nil {
		return err
	}
	return checkAnnotations(a.Annotations)
}

// jsonBody encodes v once, so that an unencodable value fails before
// anything is sent; the reader is rebuilt for each attempt.
func jsonBody(v any) (func() (io.Reader, string, error), error) {
	js, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("kosli: encoding the request body: %w", err)
	}
	return func() (io.Reader, string, error) {
		return bytes.NewReader(js), "application/json", nil
	}, nil
}
