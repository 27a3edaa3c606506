package kosli

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"time"
)

// RecordedAttestation is an attestation Kosli holds, as
// GET /attestations/{org}/{flow}/trail/{trail}/{name} returns it
// (kosli-dev/cli cmd/kosli/getAttestation.go reads attestation_name,
// attestation_type, is_compliant, artifact_fingerprint, created_at and
// html_url; user_data is among the details the API returns per attestation,
// docs/adr/20260302-client-side-enrichment-pipeline.md). No source shows
// annotations in the answer, so none are read.
type RecordedAttestation struct {
	Name string
	// Type is the attestation's type as Kosli names it (attestation_type).
	Type string
	// ArtifactFingerprint is empty for an attestation bound to the trail.
	ArtifactFingerprint string
	IsCompliant         bool
	UserData            map[string]any
	CreatedAt           time.Time
	HTMLURL             string
}

type recordedAttestationJSON struct {
	Name                string         `json:"attestation_name"`
	Type                string         `json:"attestation_type"`
	IsCompliant         bool           `json:"is_compliant"`
	ArtifactFingerprint string         `json:"artifact_fingerprint"`
	UserData            map[string]any `json:"user_data"`
	CreatedAt           UnixTime       `json:"created_at"`
	HTMLURL             string         `json:"html_url"`
}

// TrailAttestations reads the attestations named name in trail, oldest
// first as Kosli lists them; an empty list when there are none. It is the
// check before a write is repeated after an answer that did not say whether
// it landed.
//
// API: https://app.kosli.com/api/v2/doc/#/Attestation
func (c *Client) TrailAttestations(ctx context.Context, flow, trail, name string) ([]RecordedAttestation, error) {
	if err := checkName("flow name", flow); err != nil {
		return nil, err
	}
	if err := checkName("trail name", trail); err != nil {
		return nil, err
	}
	if name == "" {
		return nil, &ValidationError{Field: "attestation name", Value: "", Rule: "it must not be empty"}
	}
	k := call{
		method: http.MethodGet, route: "GET /attestations/{org}/{flow}/trail/{trail}/{name}",
		path:     []string{"attestations", c.org, flow, "trail", trail, name},
		notFound: fmt.Sprintf("Kosli has no trail %q in flow %q in org %q", trail, flow, c.org),
	}
	data, _, err := c.do(ctx, k)
	if err != nil {
		return nil, err
	}
	// The CLI reads a bare list, and falls back to {"data": [...]} (the
	// answer by attestation id); so does this.
	var list []recordedAttestationJSON
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '{' {
		var wrapped struct {
			Data []recordedAttestationJSON `json:"data"`
		}
		if err := decodeJSON(k, data, '{', "a list of attestations", &wrapped); err != nil {
			return nil, err
		}
		list = wrapped.Data
	} else if err := decodeJSON(k, data, '[', "a list of attestations", &list); err != nil {
		return nil, err
	}
	out := make([]RecordedAttestation, 0, len(list))
	for _, a := range list {
		out = append(out, RecordedAttestation{
			Name: a.Name, Type: a.Type, ArtifactFingerprint: a.ArtifactFingerprint, IsCompliant: a.IsCompliant,
			UserData: a.UserData, CreatedAt: a.CreatedAt.Time, HTMLURL: a.HTMLURL,
		})
	}
	return out, nil
}
