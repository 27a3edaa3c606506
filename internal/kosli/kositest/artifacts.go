package kositest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
)

// ReportedArtifact is an artifact as the fake recorded it from
// POST /artifacts/{org}/{flow}.
type ReportedArtifact struct {
	Flow, Trail           string
	Fingerprint           string
	Filename              string
	GitCommit             string
	CommitURL             string
	BuildURL              string
	TemplateReferenceName string
	Annotations           map[string]string
	// Payload is the whole JSON body, decoded.
	Payload map[string]any
}

// Artifacts returns the artifacts reported so far, in order.
func (s *Server) Artifacts() []ReportedArtifact {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.artifacts)
}

// serveArtifact answers POST /artifacts/{org}/{flow}, the JSON body of
// `kosli attest artifact` (kosli-dev/cli cmd/kosli/attestArtifact.go).
func (s *Server) serveArtifact(w http.ResponseWriter, r *http.Request, flow string) {
	var payload map[string]any
	var in struct {
		Fingerprint           string            `json:"fingerprint"`
		Filename              string            `json:"filename"`
		GitCommit             string            `json:"git_commit"`
		CommitURL             string            `json:"commit_url"`
		BuildURL              string            `json:"build_url"`
		TemplateReferenceName string            `json:"template_reference_name"`
		TrailName             string            `json:"trail_name"`
		Annotations           map[string]string `json:"annotations"`
	}
	if !readJSON(w, r, &payload, &in) {
		return
	}
	if !fingerprintPattern.MatchString(in.Fingerprint) {
		// kosli-dev/cli cmd/kosli/attestCustom_test.go words the rule so.
		writeInvalid(w, "fingerprint", fmt.Sprintf("String should match pattern '%s'", fingerprintPattern))
		return
	}
	if in.Filename == "" {
		writeInvalid(w, "filename", "Field required")
		return
	}
	if field, problem := checkAnnotations(in.Annotations); field != "" {
		writeInvalid(w, field, problem)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.hasFlow(flow) {
		writeMessage(w, http.StatusNotFound, noSuchFlow(flow, s.org))
		return
	}
	if in.TrailName != "" {
		if !s.hasTrail(flow, in.TrailName) {
			writeMessage(w, http.StatusNotFound, noSuchTrail(flow, in.TrailName))
			return
		}
		if s.conflicted(w, in.TrailName) {
			return
		}
	}
	s.artifacts = append(s.artifacts, ReportedArtifact{
		Flow: flow, Trail: in.TrailName, Fingerprint: in.Fingerprint, Filename: in.Filename, GitCommit: in.GitCommit,
		CommitURL: in.CommitURL, BuildURL: in.BuildURL, TemplateReferenceName: in.TemplateReferenceName,
		Annotations: in.Annotations, Payload: payload,
	})
	writeMessage(w, http.StatusCreated, "OK")
}

// readJSON decodes a JSON body into each of vs; on failure it has answered the request.
func readJSON(w http.ResponseWriter, r *http.Request, vs ...any) bool {
	var raw json.RawMessage
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 10<<20)).Decode(&raw); err != nil {
		writeMessage(w, http.StatusBadRequest, "Expected a JSON body: "+err.Error())
		return false
	}
	for _, v := range vs {
		if err := json.Unmarshal(raw, v); err != nil {
			writeMessage(w, http.StatusBadRequest, "Invalid JSON: "+err.Error())
			return false
		}
	}
	return true
}

// reportedIn reports whether fp was reported into trail of flow; s.mu must be held.
func (s *Server) reportedIn(flow, trail, fp string) bool {
	return slices.ContainsFunc(s.artifacts, func(a ReportedArtifact) bool {
		return a.Flow == flow && a.Trail == trail && a.Fingerprint == fp
	})
}

// noArtifactInTrail is the server's refusal of an attestation bound to a
// fingerprint the trail has not seen, word for word as kosli-dev/cli
// cmd/kosli/attestGeneric_test.go and attestCustom_test.go show it.
func noArtifactInTrail(fp, trail, flow, org string) string {
	return fmt.Sprintf("Artifact with fingerprint %s does not exist in trail %q of flow %q belonging to organization %q", fp, trail, flow, org)
}
