package kositest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// policySchema is the only environment policy schema the fake knows
// (kosli-dev/cli cmd/kosli/testdata/policy-files/*.yml).
const policySchema = "https://kosli.com/schemas/policy/environment/v1"

// policy is an environment policy, as the fake understands its file.
type policy struct {
	name string
	doc  policyDoc
}

type policyDoc struct {
	Schema    string `yaml:"_schema"`
	Artifacts struct {
		Provenance *struct {
			Required bool `yaml:"required"`
		} `yaml:"provenance"`
		TrailCompliance *struct {
			Required bool `yaml:"required"`
		} `yaml:"trail-compliance"`
		Attestations []policyAttestation `yaml:"attestations"`
	} `yaml:"artifacts"`
}

type policyAttestation struct {
	Name       string `yaml:"name"`
	Type       string `yaml:"type"`
	ForControl string `yaml:"for_control"`
}

func parsePolicy(name, file string) (*policy, error) {
	var doc policyDoc
	if err := yaml.Unmarshal([]byte(file), &doc); err != nil {
		return nil, fmt.Errorf("policy file is not YAML: %v", err)
	}
	if doc.Schema != policySchema {
		return nil, fmt.Errorf("policy file _schema must be %s", policySchema)
	}
	return &policy{name: name, doc: doc}, nil
}

// AttachPolicy creates an environment policy from policyYAML (named after
// env) and attaches it to env, creating env when needed: asserts in env then
// evaluate it, unless SetVerdict fixed the answer.
func (s *Server) AttachPolicy(env, policyYAML string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.env(env, "")
	name := env + "-policy"
	for i := 2; s.policies[name] != nil; i++ {
		name = fmt.Sprintf("%s-policy-%d", env, i)
	}
	p, err := parsePolicy(name, policyYAML)
	if err != nil {
		return fmt.Errorf("kositest: %v", err)
	}
	s.policies[name] = p
	s.envPolicies[env] = append(s.envPolicies[env], name)
	return nil
}

// DetachPolicy detaches the policy named name from env, as
// `kosli detach-policy NAME --environment ENV` does; the policy is kept.
func (s *Server) DetachPolicy(env, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.envPolicies[env] = slices.DeleteFunc(s.envPolicies[env], func(n string) bool { return n == name })
}

// servePolicy answers PUT /policies/{org}: multipart "payload"
// {"name","description","comment","type":"env"} and the "policy_file", the
// field names kosli-dev/cli cmd/kosli/createPolicy.go sends. 201 created and
// 200 updated are *inferred* (as for flows).
func (s *Server) servePolicy(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseMultipartForm(10 << 20); err != nil {
		writeMessage(w, http.StatusBadRequest, "Expected a multipart form: "+err.Error())
		return
	}
	var in struct {
		Name string `json:"name"`
		Type string `json:"type"`
	}
	raw := r.FormValue("payload")
	if raw == "" {
		writeInvalid(w, "payload", "Field required")
		return
	}
	if err := json.Unmarshal([]byte(raw), &in); err != nil {
		writeInvalid(w, "payload", "Invalid JSON: "+err.Error())
		return
	}
	if !namePattern.MatchString(in.Name) {
		writeInvalid(w, "name", fmt.Sprintf("'%s' does not match '%s'", in.Name, namePattern))
		return
	}
	if in.Type != "env" {
		writeInvalid(w, "type", "Input should be 'env'")
		return
	}
	file, _, err := r.FormFile("policy_file")
	if err != nil {
		writeInvalid(w, "policy_file", "Field required")
		return
	}
	b, _ := io.ReadAll(file)
	_ = file.Close()
	p, err := parsePolicy(in.Name, string(b))
	if err != nil {
		writeInvalid(w, "policy_file", err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	status := http.StatusCreated
	if s.policies[in.Name] != nil {
		status = http.StatusOK
	}
	s.policies[in.Name] = p
	writeMessage(w, status, "Policy '"+in.Name+"' was saved")
}

// serveAttachPolicies answers POST /environments/{org}/{env}/policies
// {"policy_names": [...]} (kosli-dev/cli cmd/kosli/attachPolicy.go). The
// refusal of an unknown policy is *inferred*.
func (s *Server) serveAttachPolicies(w http.ResponseWriter, r *http.Request, env string) {
	var in struct {
		PolicyNames []string `json:"policy_names"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.envs[env]; !ok {
		writeMessage(w, http.StatusNotFound, noSuchEnv(env, s.org))
		return
	}
	for _, n := range in.PolicyNames {
		if s.policies[n] == nil {
			writeMessage(w, http.StatusNotFound, fmt.Sprintf("Policy '%s' does not exist in organization '%s'", n, s.org))
			return
		}
	}
	for _, n := range in.PolicyNames {
		if !slices.Contains(s.envPolicies[env], n) {
			s.envPolicies[env] = append(s.envPolicies[env], n)
		}
	}
	writeMessage(w, http.StatusOK, "OK")
}

// place is one flow and trail an artifact was reported into.
type place struct{ flow, trail string }

// placesOf lists where fp was reported, in order; s.mu must be held.
func (s *Server) placesOf(fp string) []place {
	var out []place
	for _, a := range s.artifacts {
		if p := (place{a.Flow, a.Trail}); a.Fingerprint == fp && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// bound lists, oldest first, the attestations that count for fp: bound to
// it in any trail, or bound to a trail it was reported into. That a trail's
// own decision counts for the trail's artifacts is what kosli-dev/cli
// cmd/kosli/assertArtifact_test.go case 19 shows (a decision recorded with
// no fingerprint makes the trail's artifact non-compliant). s.mu must be held.
func (s *Server) bound(fp string) []Attestation {
	places := s.placesOf(fp)
	var out []Attestation
	for _, a := range s.attestations {
		if a.ArtifactFingerprint == fp ||
			(a.ArtifactFingerprint == "" && slices.Contains(places, place{a.Flow, a.Trail})) {
			out = append(out, a)
		}
	}
	return out
}

// evaluate judges fp against the named policies, in the shape of a Verdict;
// s.mu must be held.
func (s *Server) evaluate(fp string, names []string) Verdict {
	var v Verdict
	if places := s.placesOf(fp); len(places) > 0 {
		v.Flow, v.Trail = places[len(places)-1].flow, places[len(places)-1].trail
	}
	atts := s.bound(fp)
	v.Compliant = true
	for _, n := range names {
		p := s.policies[n]
		if p == nil {
			continue
		}
		res := PolicyResult{Name: n}
		if pr := p.doc.Artifacts.Provenance; pr != nil && pr.Required {
			// A rule without an attestation has an empty definition; the
			// server's resolution for missing provenance is unknown (*inferred*: none).
			res.Rules = append(res.Rules, RuleResult{Satisfied: len(s.placesOf(fp)) > 0 || s.flowOf(fp) != ""})
		}
		if tc := p.doc.Artifacts.TrailCompliance; tc != nil && tc.Required {
			r := RuleResult{Satisfied: true}
			for _, a := range atts {
				if !a.compliant() {
					r.Satisfied = false
					r.Resolutions = []ResolutionResult{{Type: "non_compliant_in_trail"}}
				}
			}
			res.Rules = append(res.Rules, r)
		}
		for _, want := range p.doc.Artifacts.Attestations {
			res.Rules = append(res.Rules, ruleFor(want, atts))
		}
		if res.failing() {
			v.Compliant = false
		}
		v.Policies = append(v.Policies, res)
	}
	for _, a := range atts {
		if v.Trail != "" && a.Trail == v.Trail {
			v.Attestations = append(v.Attestations, AttestationResult{
				Name: a.Name, Type: attestationType(a), Status: "COMPLETE", Compliant: a.compliant(),
			})
		}
	}
	return v
}

// ruleFor evaluates one `attestations:` rule on the attestations that count
// for the artifact: a decision rule with for_control is met by the latest
// decision for that control (whatever its name: the CLI's message names only
// the control, "missing required decision for control '…'"), another rule by
// the latest attestation of that name and type.
func ruleFor(want policyAttestation, atts []Attestation) RuleResult {
	r := RuleResult{Name: want.Name, Type: want.Type}
	var latest *Attestation
	for i := range atts {
		a := &atts[i]
		switch {
		case want.ForControl != "":
			if a.Kind == "system" && a.TypeName == want.Type && a.Control == want.ForControl {
				latest = a
			}
		case a.Name == want.Name && (want.Type == "" || strings.TrimPrefix(attestationType(*a), "custom:") == strings.TrimPrefix(want.Type, "custom:")):
			latest = a
		}
	}
	switch {
	case latest == nil:
		r.Resolutions = []ResolutionResult{{Type: "missing_attestation", ForControl: want.ForControl}}
	case !latest.compliant():
		r.Resolutions = []ResolutionResult{{Type: "non_compliant_attestation", ForControl: want.ForControl}}
	default:
		r.Satisfied = true
	}
	return r
}
