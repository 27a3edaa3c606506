package kosli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/release-bot/release-bot/internal/release"
)

// Compliance is Kosli's verdict on the artifact fp in environment env, for
// the approvers: each failing policy rule is named ("policy-name: rule-type").
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
	return release.Compliance{
		Fingerprint: fp,
		Environment: env,
		Compliant:   a.Compliant,
		Failures:    failures(a),
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

// failures names what makes an assertion fail: each failing rule of each
// non-compliant policy, else each non-compliant policy, else each
// non-compliant flow.
func failures(a Assertion) []string {
	if a.Compliant {
		return nil
	}
	var out []string
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
			if r.Failed() {
				add(p.PolicyName + ": " + r.Rule.Type)
				named = true
			}
		}
		if !named {
			add(p.PolicyName)
		}
	}
	if len(out) == 0 {
		for _, f := range a.Flows {
			if !f.Compliant {
				add(fmt.Sprintf("flow %s, trail %s: not compliant", f.Flow, f.Trail))
			}
		}
	}
	return out
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
