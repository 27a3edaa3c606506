package release

import (
	"context"
	"slices"
	"strings"
	"time"
)

// Environments is what planning needs of Kosli: the diff of two environments.
// The kosli package implements it.
type Environments interface {
	// Diff compares the latest snapshots of from and to.
	Diff(ctx context.Context, from, to string) (Diff, error)
}

// Compliance is Kosli's verdict on one artifact in one environment.
type Compliance struct {
	Fingerprint string `json:"fingerprint"`
	Environment string `json:"environment"`
	Compliant   bool   `json:"compliant"`
	// Unknown is true when Kosli has never heard of the fingerprint: not compliant, and not an error.
	Unknown bool `json:"unknown,omitempty"`
	// Failures says why, in the Kosli CLI's words: each failing policy and reason, e.g.
	// "prod-policy: missing required decision for control 'release-approved'", then each
	// attestation not compliant in a flow, e.g. "flow web-ci, trail ed1878b: attestation 'snyk' (type: snyk) is non-compliant".
	Failures []string `json:"failures,omitempty"`
	// Awaiting lists the controls whose decision the artifact lacks in the
	// environment (said among Failures as "…: missing required decision for
	// control 'X'"): a release's own control is what its approval records.
	Awaiting []string `json:"awaiting,omitempty"`
	// Pending is true when the artifact lacks nothing but the decision of the
	// pipeline's own control: not a blocker, it awaits the release's approval.
	Pending bool `json:"pending,omitempty"`
	// URL is Kosli's page for the verdict, when it gave one.
	URL string `json:"url,omitempty"`
}

// MarkOwnControl takes the missing decision for control (the pipeline's
// own) out of the failures, and sets Pending when nothing else is wrong:
// the artifact awaits the release's approval, and does not block it.
func (c *Compliance) MarkOwnControl(control string) {
	if c.Compliant || c.Unknown || control == "" || !slices.Contains(c.Awaiting, control) {
		return
	}
	own := "missing required decision for control '" + control + "'"
	c.Failures = slices.DeleteFunc(slices.Clone(c.Failures), func(f string) bool { return strings.HasSuffix(f, own) })
	c.Pending = len(c.Failures) == 0
}

// Blocks reports whether the artifact stops the release: not compliant for
// any reason but the release's own approval.
func (c Compliance) Blocks() bool { return !c.Compliant && !c.Pending }

// ComplianceChecker asks Kosli whether an artifact may run in an environment.
type ComplianceChecker interface {
	Compliance(ctx context.Context, fingerprint, environment string) (Compliance, error)
}

// Running is what an environment runs right now.
type Running struct {
	Environment string `json:"environment"`
	// SnapshotID is e.g. "aws-prod#3549".
	SnapshotID string    `json:"snapshot_id"`
	Taken      time.Time `json:"taken"`
	// Fingerprints of the artifacts with at least one running instance.
	Fingerprints []string `json:"fingerprints"`
}

// RunningReader reads the latest snapshot of an environment.
type RunningReader interface {
	Running(ctx context.Context, environment string) (Running, error)
}
