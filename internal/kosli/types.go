package kosli

import (
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// UnixTime is a Kosli timestamp: epoch seconds, integer or fractional, or null (the zero time).
type UnixTime struct{ time.Time }

// UnmarshalJSON accepts 1740904271, 1778128438.445219 and null.
func (t *UnixTime) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		t.Time = time.Time{}
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("want epoch seconds, got %.40s", b)
	}
	sec, frac := math.Modf(f)
	t.Time = time.Unix(int64(sec), int64(frac*1e9)).UTC()
	return nil
}

// MarshalJSON writes epoch seconds, or null for the zero time.
func (t UnixTime) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(float64(t.UnixNano()) / 1e9)
}

// Environment is one Kosli environment, as GET /environments returns it.
type Environment struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	Description string `json:"description"`
	// State is the environment's compliance; nil when Kosli has not judged it.
	State          *bool    `json:"state"`
	LastReportedAt UnixTime `json:"last_reported_at"`
	LastModifiedAt UnixTime `json:"last_modified_at"`
	// Tags is always an object, possibly empty.
	Tags map[string]any `json:"tags"`
}

// Snapshot is what an environment ran at one moment, as GET /snapshots returns it.
type Snapshot struct {
	Index     int                `json:"index"`
	Timestamp UnixTime           `json:"timestamp"`
	Type      string             `json:"type"`
	Compliant bool               `json:"compliant"`
	HTMLURL   string             `json:"html_url"`
	Artifacts []SnapshotArtifact `json:"artifacts"`
}

// SnapshotArtifact is one artifact in a snapshot. An artifact that exited
// stays in the list with Annotation.Now == 0.
type SnapshotArtifact struct {
	Name                   string   `json:"name"`
	Fingerprint            string   `json:"fingerprint"`
	Compliant              bool     `json:"compliant"`
	ReasonsForIncompliance []string `json:"reasons_for_incompliance"`
	// CreationTimestamp holds one start time per running instance.
	CreationTimestamp []UnixTime     `json:"creationTimestamp"`
	Annotation        Annotation     `json:"annotation"`
	FlowName          string         `json:"flow_name"`
	GitCommit         string         `json:"git_commit"`
	CommitURL         string         `json:"commit_url"`
	HTMLURL           string         `json:"html_url"`
	Flows             []SnapshotFlow `json:"flows"`
}

// Running reports whether the artifact has an instance in the snapshot.
func (a SnapshotArtifact) Running() bool { return a.Annotation.Now > 0 }

// Annotation says how an artifact's instance count moved into this snapshot.
type Annotation struct {
	Type string `json:"type"`
	Was  int    `json:"was"`
	Now  int    `json:"now"`
}

// SnapshotFlow is one flow (and trail) an artifact was reported to.
type SnapshotFlow struct {
	FlowName              string `json:"flow_name"`
	TrailName             string `json:"trail_name"`
	TemplateReferenceName string `json:"template_reference_name"`
	GitCommit             string `json:"git_commit"`
	CommitURL             string `json:"commit_url"`
}

// AssertQuery narrows an assert: to an environment's policies, a flow, or named policies.
type AssertQuery struct {
	Environment string
	Flow        string
	Policies    []string
}

// Assertion is Kosli's compliance verdict on an artifact, as GET /asserts returns it.
// Compliant is the verdict; the rest explains it.
type Assertion struct {
	Fingerprint string `json:"fingerprint"`
	Compliant   bool   `json:"compliant"`
	// Scope is "flow", "environment" or "policy".
	Scope             string             `json:"scope"`
	Environment       string             `json:"environment"`
	HTMLURL           string             `json:"html_url"`
	Flows             []AssertionFlow    `json:"flows"`
	PolicyEvaluations []PolicyEvaluation `json:"policy_evaluations"`
}

// AssertionFlow is the artifact's standing in one flow and trail.
type AssertionFlow struct {
	Flow             string           `json:"flow"`
	Trail            string           `json:"trail"`
	Compliant        bool             `json:"compliant"`
	HTMLURL          string           `json:"html_url"`
	ComplianceStatus ComplianceStatus `json:"compliance_status"`
}

// ComplianceStatus is the trail's standing, attestation by attestation.
type ComplianceStatus struct {
	AttestationsStatuses []AttestationStatus `json:"attestations_statuses"`
}

// AttestationStatus is one attestation the trail expects or holds.
// IsCompliant is nil while the attestation is missing (status "MISSING").
type AttestationStatus struct {
	AttestationName string `json:"attestation_name"`
	AttestationType string `json:"attestation_type"`
	Status          string `json:"status"`
	IsCompliant     *bool  `json:"is_compliant"`
	// Unexpected is true for an attestation the flow's template does not ask for.
	Unexpected bool `json:"unexpected"`
}

// Failed reports whether the attestation counts against the artifact: the
// Kosli CLI prints a null is_compliant as false, and so it is read here.
func (a AttestationStatus) Failed() bool { return a.IsCompliant == nil || !*a.IsCompliant }

// PolicyEvaluation is one environment policy applied to the artifact.
type PolicyEvaluation struct {
	PolicyName string `json:"policy_name"`
	// Status is "COMPLIANT" or another word for not.
	Status          string           `json:"status"`
	RuleEvaluations []RuleEvaluation `json:"rule_evaluations"`
}

// RuleEvaluation is one rule of a policy. Satisfied is nil when the rule did not apply.
type RuleEvaluation struct {
	Rule        Rule         `json:"rule"`
	Satisfied   *bool        `json:"satisfied"`
	Ignored     bool         `json:"ignored"`
	Resolutions []Resolution `json:"resolutions"`
}

// Failed reports whether the rule counts against the artifact: not ignored and not satisfied
// (the Kosli CLI reads it the same way).
func (r RuleEvaluation) Failed() bool { return !r.Ignored && (r.Satisfied == nil || !*r.Satisfied) }

// Rule is a policy rule; Kosli sends only its definition (there is no rule type).
type Rule struct {
	Definition RuleDefinition `json:"definition"`
}

// RuleDefinition is the policy's own words for the rule. Name and Type are
// set for an attestation rule (e.g. "decision", type "decision").
type RuleDefinition struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// The resolution types Kosli gives a failing rule, as `kosli assert artifact` knows them.
const (
	ResolutionLegacyFlow              = "legacy_flow"
	ResolutionMissingAttestation      = "missing_attestation"
	ResolutionNonCompliantAttestation = "non_compliant_attestation"
	ResolutionNonCompliantInTrail     = "non_compliant_in_trail"
)

// Resolution says why a rule failed in one flow and trail.
type Resolution struct {
	// Type is one of the Resolution… constants; an unknown one is kept as sent.
	Type    string            `json:"type"`
	Context ResolutionContext `json:"context"`
}

// ResolutionContext narrows a resolution. ForControl is the control
// identifier when the policy rule has for_control set.
type ResolutionContext struct {
	ForControl string `json:"for_control"`
}
