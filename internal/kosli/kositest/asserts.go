package kositest

import (
	"fmt"
	"net/http"
	"slices"
)

// Verdict is what the fake answers to an assert of one fingerprint in one environment.
type Verdict struct {
	Compliant bool
	// Policies are the environment policies evaluated; one with failing rules is NON-COMPLIANT.
	Policies []PolicyResult
	// Flow and Trail name where the artifact was built; the artifact's flow in a snapshot when empty.
	Flow, Trail string
}

// PolicyResult is one policy's evaluation.
type PolicyResult struct {
	Name string
	// FailingRules and PassingRules are rule types, e.g. "provenance", "trail-compliance", "attestation".
	FailingRules []string
	PassingRules []string
}

type verdictKey struct{ fingerprint, environment string }

// SetVerdict fixes the answer to GET /asserts for fingerprint in environment
// ("" for an assert without environment_name). A fingerprint with no verdict
// that runs in some snapshot is judged by its Compliant flag; one the fake has
// never seen gets Kosli's "does not exist" error.
func (s *Server) SetVerdict(fingerprint, environment string, v Verdict) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.verdicts[verdictKey{fingerprint, environment}] = v
}

// serveAssert answers GET /asserts/{org}/fingerprint/{fp}.
func (s *Server) serveAssert(w http.ResponseWriter, r *http.Request, fp string) {
	q := r.URL.Query()
	env, flowName, policies := q.Get("environment_name"), q.Get("flow_name"), q["policy_name"]
	s.mu.Lock()
	defer s.mu.Unlock()
	if env != "" {
		if _, ok := s.envs[env]; !ok {
			writeMessage(w, http.StatusNotFound, noSuchEnv(env, s.org))
			return
		}
	}
	v, ok := s.verdicts[verdictKey{fp, env}]
	if !ok {
		v, ok = s.defaultVerdict(fp, env)
	}
	if !ok {
		writeMessage(w, http.StatusNotFound, fmt.Sprintf("Artifact with fingerprint '%s' does not exist in organization '%s'", fp, s.org))
		return
	}
	if v.Flow == "" {
		v.Flow = s.flowOf(fp)
	}
	scope := "flow"
	switch {
	case len(policies) > 0:
		scope = "policy"
	case env != "":
		scope = "environment"
	}
	compliant := v.Compliant
	evals := []map[string]any{}
	for _, p := range v.Policies {
		if len(policies) > 0 && !slices.Contains(policies, p.Name) {
			continue
		}
		evals = append(evals, policyJSON(p))
	}
	if len(policies) > 0 {
		compliant = true
		for _, p := range v.Policies {
			if slices.Contains(policies, p.Name) && len(p.FailingRules) > 0 {
				compliant = false
			}
		}
	}
	flows := []map[string]any{}
	if v.Flow != "" && (flowName == "" || flowName == v.Flow) {
		flows = append(flows, map[string]any{
			"flow": v.Flow, "trail": v.Trail, "compliant": compliant,
			"html_url":          fmt.Sprintf("%s/%s/flows/%s/trails/%s", s.webBase, s.org, v.Flow, v.Trail),
			"compliance_status": map[string]any{"attestations_statuses": []any{}},
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"fingerprint": fp, "compliant": compliant, "scope": scope, "environment": env,
		"html_url":           fmt.Sprintf("%s/%s/flows/%s/artifacts/%s", s.webBase, s.org, v.Flow, fp),
		"flows":              flows,
		"policy_evaluations": evals,
	})
}

func policyJSON(p PolicyResult) map[string]any {
	status := "COMPLIANT"
	if len(p.FailingRules) > 0 {
		status = "NON-COMPLIANT"
	}
	rules := []map[string]any{}
	for _, set := range []struct {
		types     []string
		satisfied bool
	}{{p.FailingRules, false}, {p.PassingRules, true}} {
		for _, t := range set.types {
			res := "rule_satisfied"
			if !set.satisfied {
				res = "non_compliant_in_trail"
			}
			rules = append(rules, map[string]any{
				"rule": map[string]any{"type": t, "definition": map[string]any{}}, "satisfied": set.satisfied,
				"ignored": false, "resolutions": []map[string]any{{"type": res, "context": map[string]any{}}},
			})
		}
	}
	return map[string]any{"policy_name": p.Name, "status": status, "rule_evaluations": rules}
}

// defaultVerdict judges a fingerprint with no verdict set by the artifact's
// Compliant flag: in env's latest snapshot first, else anywhere; s.mu must be held.
func (s *Server) defaultVerdict(fp, env string) (Verdict, bool) {
	if e, ok := s.envs[env]; ok {
		if last, ok := e.latest(); ok {
			for _, a := range last.artifacts {
				if a.Fingerprint == fp {
					return Verdict{Compliant: a.Compliant, Flow: a.Flow, Trail: commitOf(a.CommitURL)}, true
				}
			}
		}
	}
	for k, v := range s.verdicts {
		if k.fingerprint == fp {
			return Verdict{Compliant: v.Compliant, Flow: v.Flow, Trail: v.Trail}, true
		}
	}
	for _, name := range s.envOrder {
		for _, sn := range s.envs[name].snapshots {
			for _, a := range sn.artifacts {
				if a.Fingerprint == fp {
					return Verdict{Compliant: a.Compliant, Flow: a.Flow, Trail: commitOf(a.CommitURL)}, true
				}
			}
		}
	}
	return Verdict{}, false
}

// flowOf finds the flow an artifact was reported to; s.mu must be held.
func (s *Server) flowOf(fp string) string {
	for _, name := range s.envOrder {
		for _, sn := range s.envs[name].snapshots {
			for _, a := range sn.artifacts {
				if a.Fingerprint == fp && a.Flow != "" {
					return a.Flow
				}
			}
		}
	}
	return ""
}
