package kositest

import (
	"fmt"
	"net/http"
	"slices"
)

// Verdict is what the fake answers to an assert of one fingerprint in one
// environment, in the shape `kosli assert artifact` reads (kosli-dev/cli,
// cmd/kosli/assertArtifact.go, printAssertAsTable).
type Verdict struct {
	Compliant bool
	// Policies are the environment policies evaluated; one with a failing rule is NON-COMPLIANT.
	Policies []PolicyResult
	// Flow and Trail name where the artifact was built; the artifact's flow in a snapshot when empty.
	Flow, Trail string
	// Attestations are the trail's compliance_status.attestations_statuses.
	Attestations []AttestationResult
}

// PolicyResult is one policy's evaluation.
type PolicyResult struct {
	Name string
	// Rules are the policy's rule evaluations, in order.
	Rules []RuleResult
	// FailingRules is shorthand for Rules: each names a required attestation
	// (of type generic) missing from the trail.
	FailingRules []string
	// PassingRules is shorthand for Rules: each names a satisfied attestation rule (of type generic).
	PassingRules []string
}

// RuleResult is one rule_evaluations entry.
type RuleResult struct {
	// Name and Type are the rule's definition; both empty for a rule that names no attestation.
	Name, Type         string
	Satisfied, Ignored bool
	Resolutions        []ResolutionResult
}

// ResolutionResult is one resolution of a rule.
type ResolutionResult struct {
	// Type is "legacy_flow", "missing_attestation", "non_compliant_attestation" or "non_compliant_in_trail".
	Type string
	// ForControl is the control identifier of a rule with for_control set.
	ForControl string
}

// AttestationResult is one attestations_statuses entry of the trail.
type AttestationResult struct {
	Name, Type string
	// Status is e.g. "COMPLETE" or "MISSING"; a MISSING one is sent with is_compliant null.
	Status     string
	Compliant  bool
	Unexpected bool
}

// rules expands the shorthands after Rules.
func (p PolicyResult) rules() []RuleResult {
	out := append([]RuleResult(nil), p.Rules...)
	for _, n := range p.FailingRules {
		out = append(out, RuleResult{Name: n, Type: "generic", Resolutions: []ResolutionResult{{Type: "missing_attestation"}}})
	}
	for _, n := range p.PassingRules {
		out = append(out, RuleResult{Name: n, Type: "generic", Satisfied: true})
	}
	return out
}

func (p PolicyResult) failing() bool {
	for _, r := range p.rules() {
		if !r.Satisfied && !r.Ignored {
			return true
		}
	}
	return false
}

type verdictKey struct{ fingerprint, environment string }

// SetVerdict fixes the answer to GET /asserts for fingerprint in environment
// ("" for an assert without environment_name). Without one, an environment
// with attached policies (AttachPolicy) has them evaluated; otherwise a
// fingerprint that runs in some snapshot is judged by its Compliant flag, and
// one only reported into a trail by its attestations there. One the fake has
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
	if s.forgotten[fp] {
		writeMessage(w, http.StatusNotFound, fmt.Sprintf("Artifact with fingerprint '%s' does not exist in organization '%s'", fp, s.org))
		return
	}
	v, ok := s.verdicts[verdictKey{fp, env}]
	if names := s.policyNames(env, policies); !ok && len(names) > 0 {
		if base, known := s.defaultVerdict(fp, env); known {
			v, ok = s.evaluate(fp, names), true
			if v.Flow == "" {
				v.Flow, v.Trail = base.Flow, base.Trail
			}
		}
	}
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
			if slices.Contains(policies, p.Name) && p.failing() {
				compliant = false
			}
		}
	}
	flows := []map[string]any{}
	if v.Flow != "" && (flowName == "" || flowName == v.Flow) {
		flows = append(flows, map[string]any{
			"flow": v.Flow, "trail": v.Trail, "compliant": compliant,
			"html_url":          fmt.Sprintf("%s/%s/flows/%s/trails/%s", s.webBase, s.org, v.Flow, v.Trail),
			"compliance_status": map[string]any{"attestations_statuses": attestationsJSON(v.Attestations)},
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
	if p.failing() {
		status = "NON-COMPLIANT"
	}
	rules := []map[string]any{}
	for _, r := range p.rules() {
		def := map[string]any{}
		if r.Name != "" {
			def["name"] = r.Name
		}
		if r.Type != "" {
			def["type"] = r.Type
		}
		res := []map[string]any{}
		for _, x := range r.Resolutions {
			ctx := map[string]any{}
			if x.ForControl != "" {
				ctx["for_control"] = x.ForControl
			}
			res = append(res, map[string]any{"type": x.Type, "context": ctx})
		}
		rules = append(rules, map[string]any{
			"rule": map[string]any{"definition": def}, "satisfied": r.Satisfied,
			"ignored": r.Ignored, "resolutions": res,
		})
	}
	return map[string]any{"policy_name": p.Name, "status": status, "rule_evaluations": rules}
}

func attestationsJSON(as []AttestationResult) []map[string]any {
	out := []map[string]any{}
	for _, a := range as {
		var compliant any = a.Compliant
		if a.Status == "MISSING" {
			compliant = nil
		}
		out = append(out, map[string]any{
			"attestation_name": a.Name, "attestation_type": a.Type, "status": a.Status,
			"is_compliant": compliant, "unexpected": a.Unexpected,
		})
	}
	return out
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
	if places := s.placesOf(fp); len(places) > 0 {
		v := Verdict{Compliant: true, Flow: places[len(places)-1].flow, Trail: places[len(places)-1].trail}
		for _, a := range s.bound(fp) {
			v.Compliant = v.Compliant && a.compliant()
		}
		return v, true
	}
	return Verdict{}, false
}

// policyNames are the policies an assert evaluates: those named by
// policy_name, else those attached to the environment; s.mu must be held.
func (s *Server) policyNames(env string, named []string) []string {
	if len(named) > 0 {
		var out []string
		for _, n := range named {
			if s.policies[n] != nil {
				out = append(out, n)
			}
		}
		return out
	}
	return s.envPolicies[env]
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

// ForgetArtifact makes Kosli no longer know the artifact with fingerprint
// fp, though old snapshots still list it (an artifact whose flow was
// archived, say: `kosli archive flow` keeps the data but hides it,
// kosli-dev/cli cmd/kosli/archiveFlow.go). An assert of it then answers
// Kosli's "Artifact with fingerprint '…' does not exist" (the CLI's
// assertArtifact_test.go), and the env-diff and snapshots show it as an
// artifact without provenance, flow and commit_url null (reference/kosli-api.md,
// "flow and commit_url are empty or null for an artifact with no provenance").
// That both follow from forgetting is *inferred*.
func (s *Server) ForgetArtifact(fp string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.forgotten == nil {
		s.forgotten = map[string]bool{}
	}
	s.forgotten[fp] = true
}

// ClearVerdict drops the verdict set for fingerprint in environment, so that
// the environment's policies (or the default) judge it again.
func (s *Server) ClearVerdict(fingerprint, environment string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.verdicts, verdictKey{fingerprint, environment})
}
