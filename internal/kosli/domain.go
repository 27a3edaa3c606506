package kosli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/release-bot/release-bot/internal/release"
)

// Compliance is Kosli's verdict on the artifact fp in environment env, for
// the approvers: each reason is said as `kosli assert artifact` says it
// ("prod-policy: missing required decision for control 'release-approved'").
// A fingerprint Kosli has never heard of is not an error but a verdict:
// not compliant, unknown.
//
// API: https://app.kosli.com/api/v2/doc/#/Asserts/assert_artifact
func (c *Client) Compliance(ctx context.Context, fp, env string) (release.Compliance, error) {
	a, err := c.Assert(ctx, fp, AssertQuery{Environment: env})
	if unknownArtifact(err) {
		return release.Compliance{Fingerprint: fp, Environment: env, Unknown: true}, nil
	}
	if err != nil {
		return release.Compliance{}, err
	}
	why, awaiting := failures(a)
	return release.Compliance{
		Fingerprint: fp,
		Environment: env,
		Compliant:   a.Compliant,
		Failures:    why,
		Awaiting:    awaiting,
		URL:         a.HTMLURL,
	}, nil
}

// unknownArtifact recognises Kosli's answer for a fingerprint it has no
// record of ("Artifact with fingerprint '…' does not exist …"). The API gives
// no error code for it, only a 400 or 404 and that sentence, so the sentence
// is what is matched — here, and nowhere else.
func unknownArtifact(err error) bool {
	var api *APIError
	if !errors.As(err, &api) || (api.Status != http.StatusNotFound && api.Status != http.StatusBadRequest) {
		return false
	}
	m := strings.ToLower(api.Message)
	return strings.Contains(m, "does not exist") && (strings.Contains(m, "artifact") || strings.Contains(m, "fingerprint"))
}

// NoSnapshotError is Kosli's answer to a snappish naming a snapshot it does
// not have, such as aws-prod#12 in an environment with fewer snapshots.
type NoSnapshotError struct {
	// Snappish is the snapshot as Kosli resolved it, e.g. "aws-prod#12".
	Snappish string
	err      error
}

func (e *NoSnapshotError) Error() string {
	return "Kosli has no snapshot " + e.Snappish + ": " + e.err.Error()
}

// Unwrap gives the *APIError.
func (e *NoSnapshotError) Unwrap() error { return e.err }

// missingSnapshotMessage is Kosli's sentence for a snapshot index it does
// not have (kosli-dev/cli cmd/kosli/getSnapshot_test.go, diffSnapshots_test.go:
// "Org: 'x'. Snapshot 'env#23' resolves to 'env#23'. len(snapshots) == 3.
// Indexes are 1-based"). Like unknownArtifact's, it is only a sentence.
var missingSnapshotMessage = regexp.MustCompile(`Snapshot '[^']*' resolves to '([^']*)'\. len\(snapshots\) == \d+`)

// noSnapshot recognises that sentence in a 400 or 404, here and nowhere else.
func noSnapshot(err error) error {
	var api *APIError
	if !errors.As(err, &api) || (api.Status != http.StatusNotFound && api.Status != http.StatusBadRequest) {
		return err
	}
	m := missingSnapshotMessage.FindStringSubmatch(api.Message)
	if m == nil {
		return err
	}
	return &NoSnapshotError{Snappish: m[1], err: err}
}

// failures says why an assertion fails, in the words `kosli assert artifact`
// prints (kosli-dev/cli, cmd/kosli/assertArtifact.go, printAssertAsTable):
// for each non-compliant policy, each failing rule's resolutions, as
// "policy: reason"; then, per flow, each attestation that is not compliant.
// A non-compliant policy with nothing said about it is named alone; when
// nothing at all is said, each non-compliant flow is.
//
// awaiting lists the controls whose decision is missing (a
// missing_attestation resolution with context.for_control): a release's own
// control is what its approval will satisfy (release.Compliance.MarkOwnControl).
func failures(a Assertion) (out, awaiting []string) {
	if a.Compliant {
		return nil, nil
	}
	add := func(s string) {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	for _, p := range a.PolicyEvaluations {
		if p.Status == "COMPLIANT" {
			continue
		}
		named := false
		for _, r := range p.RuleEvaluations {
			if !r.Failed() {
				continue
			}
			for _, res := range r.Resolutions {
				if c := res.Context.ForControl; res.Type == ResolutionMissingAttestation && c != "" && !slices.Contains(awaiting, c) {
					awaiting = append(awaiting, c)
				}
				if why := reason(r.Rule.Definition, res); why != "" {
					add(p.PolicyName + ": " + why)
					named = true
				}
			}
		}
		if !named {
			add(p.PolicyName)
		}
	}
	for _, f := range a.Flows {
		for _, s := range f.ComplianceStatus.AttestationsStatuses {
			if s.Failed() {
				add(where(f) + ": " + attestationReason(s))
			}
		}
	}
	if len(out) == 0 {
		for _, f := range a.Flows {
			if !f.Compliant {
				add(where(f) + ": not compliant")
			}
		}
	}
	return out, awaiting
}

// reason is the CLI's sentence for one resolution of a failing rule, less its
// subject ("artifact is …"): the line it goes on already names the artifact.
// An unknown resolution type gives "", as the CLI prints nothing for it.
func reason(def RuleDefinition, res Resolution) string {
	control := res.Context.ForControl
	switch res.Type {
	case ResolutionLegacyFlow:
		return "comes from a legacy flow and does not have the new attestations"
	case ResolutionMissingAttestation:
		if control != "" {
			return fmt.Sprintf("missing required %s for control '%s'", def.Type, control)
		}
		return fmt.Sprintf("missing required '%s' (type: %s) attestation in trail", def.Name, def.Type)
	case ResolutionNonCompliantAttestation:
		if control != "" {
			return fmt.Sprintf("decision for control '%s' is non-compliant in trail", control)
		}
		return fmt.Sprintf("attestation '%s' is non-compliant in trail", def.Name)
	case ResolutionNonCompliantInTrail:
		return "not compliant in trail"
	}
	return ""
}

// attestationReason puts one row of the CLI's per-flow attestation table
// (name, type, status, compliant, unexpected) into words.
func attestationReason(s AttestationStatus) string {
	state := "is non-compliant"
	if s.IsCompliant == nil {
		state = "is " + strings.ToLower(s.Status)
		if s.Status == "" {
			state = "is missing"
		}
	}
	out := fmt.Sprintf("attestation '%s' (type: %s) %s", s.AttestationName, s.AttestationType, state)
	if s.Unexpected {
		out += " (unexpected)"
	}
	return out
}

// where names a flow and its trail, as the CLI's "Flow: … Trail: …" does.
func where(f AssertionFlow) string {
	if f.Trail == "" {
		return "flow " + f.Flow
	}
	return fmt.Sprintf("flow %s, trail %s", f.Flow, f.Trail)
}

// Running reads what env runs now from its latest snapshot. Artifacts that
// exited (annotation.now == 0) are left out.
//
// API: https://app.kosli.com/api/v2/doc/#/Snapshots/get_snapshot
func (c *Client) Running(ctx context.Context, env string) (release.Running, error) {
	s, err := c.Snapshot(ctx, env, "-1")
	if err != nil {
		return release.Running{}, err
	}
	r := release.Running{
		Environment:  env,
		SnapshotID:   fmt.Sprintf("%s#%d", env, s.Index),
		Taken:        s.Timestamp.Time,
		Fingerprints: []string{},
	}
	for _, a := range s.Artifacts {
		if a.Running() && !slices.Contains(r.Fingerprints, a.Fingerprint) {
			r.Fingerprints = append(r.Fingerprints, a.Fingerprint)
		}
	}
	return r, nil
}
