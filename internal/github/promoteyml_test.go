package github_test

import (
	"maps"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/release-bot/release-bot/internal/github"
)

// promoteYML is the example workflow, as far as release-bot relies on it.
type promoteYML struct {
	RunName string `yaml:"run-name"`
	On      struct {
		WorkflowDispatch struct {
			Inputs map[string]struct {
				Required bool   `yaml:"required"`
				Type     string `yaml:"type"`
			} `yaml:"inputs"`
		} `yaml:"workflow_dispatch"`
	} `yaml:"on"`
	Concurrency *struct {
		Group            string `yaml:"group"`
		CancelInProgress bool   `yaml:"cancel-in-progress"`
	} `yaml:"concurrency"`
	Jobs map[string]struct {
		Name     string `yaml:"name"`
		Needs    needs  `yaml:"needs"`
		Strategy *struct {
			FailFast *bool `yaml:"fail-fast"`
			Matrix   struct {
				Include string `yaml:"include"`
			} `yaml:"matrix"`
		} `yaml:"strategy"`
		Steps []struct {
			Uses string            `yaml:"uses"`
			With map[string]string `yaml:"with"`
			Run  string            `yaml:"run"`
			Env  map[string]string `yaml:"env"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

// needs is a job's needs: one job id or a list of them.
type needs []string

func (n *needs) UnmarshalYAML(v *yaml.Node) error {
	if v.Kind == yaml.ScalarNode {
		*n = needs{v.Value}
		return nil
	}
	var list []string
	if err := v.Decode(&list); err != nil {
		return err
	}
	*n = list
	return nil
}

func TestTheExamplePromotionWorkflow(t *testing.T) {
	data, err := os.ReadFile("../../deploy/github/promote.yml")
	if err != nil {
		t.Fatal(err)
	}
	var w promoteYML
	if err := yaml.Unmarshal(data, &w); err != nil {
		t.Fatalf("promote.yml: %v", err)
	}
	var inputs []string
	for name, in := range w.On.WorkflowDispatch.Inputs {
		inputs = append(inputs, name)
		if in.Type != "string" {
			t.Errorf("input %s is of type %q; release-bot sends strings", name, in.Type)
		}
	}
	sort.Strings(inputs)
	if !slices.Equal(inputs, []string{"manifest_digest", "promotions", "release_id"}) {
		t.Errorf("workflow_dispatch inputs = %v, want exactly release_id, manifest_digest, promotions", inputs)
	}
	if !strings.Contains(w.RunName, "inputs.release_id") {
		t.Errorf("run-name %q does not show inputs.release_id", w.RunName)
	}
	if w.Concurrency == nil || w.Concurrency.Group == "" || w.Concurrency.CancelInProgress {
		t.Errorf("concurrency = %+v, want a group that does not cancel a deploy in progress", w.Concurrency)
	}
	matrices := 0
	for id, job := range w.Jobs {
		if job.Strategy == nil {
			continue
		}
		matrices++
		if job.Strategy.FailFast == nil || *job.Strategy.FailFast {
			t.Errorf("job %s: fail-fast must be false", id)
		}
		if !strings.Contains(job.Name, "matrix.service") {
			t.Errorf("job %s is named %q: legs must be named after matrix.service", id, job.Name)
		}
		if !strings.Contains(job.Strategy.Matrix.Include, "fromJSON(inputs.promotions)") {
			t.Errorf("job %s: the matrix includes %q, not the promotions input", id, job.Strategy.Matrix.Include)
		}
		deploysByDigest := false
		for _, s := range job.Steps {
			for _, v := range s.Env {
				deploysByDigest = deploysByDigest || strings.Contains(v, "matrix.image")
			}
			if strings.Contains(s.Run, "${{") {
				t.Errorf("job %s: a step interpolates an expression into its script (pass it in env): %q", id, s.Run)
			}
		}
		if !deploysByDigest {
			t.Errorf("job %s never reads matrix.image", id)
		}
	}
	if matrices == 0 {
		t.Error("no job has a matrix")
	}
}

// TestThePromotionWorkflowIsGatedByKosli holds the side door shut: a
// dispatch nobody approved must fail before anything deploys. The gate is
// one job, not a leg, that every matrix job needs; it installs Kosli's CLI,
// checks the promotions input against the sha256 release-bot recorded on the
// release's trail, and asserts every artifact against the target environment.
func TestThePromotionWorkflowIsGatedByKosli(t *testing.T) {
	data, err := os.ReadFile("../../deploy/github/promote.yml")
	if err != nil {
		t.Fatal(err)
	}
	var w promoteYML
	if err := yaml.Unmarshal(data, &w); err != nil {
		t.Fatalf("promote.yml: %v", err)
	}
	gate, ok := w.Jobs["gate"]
	if !ok {
		t.Fatal("no job gate")
	}
	if gate.Strategy != nil {
		t.Error("job gate has a matrix: it must be one job, not legs")
	}
	if len(gate.Needs) != 0 {
		t.Errorf("job gate needs %v: it must run first", gate.Needs)
	}
	for id, job := range w.Jobs {
		if job.Strategy != nil && !slices.Contains(job.Needs, "gate") {
			t.Errorf("job %s deploys without needing gate (needs %v)", id, job.Needs)
		}
		for _, s := range job.Steps {
			if strings.Contains(s.Run, "${{") {
				t.Errorf("job %s: a step interpolates an expression into its script (pass it in env): %q", id, s.Run)
			}
		}
	}

	var setup, checksDigest, readsManifest, asserts bool
	for _, s := range gate.Steps {
		if strings.HasPrefix(s.Uses, "kosli-dev/setup-cli-action@") {
			setup = true
			if s.With["version"] == "" {
				t.Error("gate: the Kosli CLI's version is not pinned (with: version)")
			}
		}
		if s.Run == "" {
			continue
		}
		promotions := slices.ContainsFunc(slices.Collect(maps.Values(s.Env)), func(v string) bool { return strings.Contains(v, "inputs.promotions") })
		if promotions && strings.Contains(s.Run, "sha256sum") && strings.Contains(s.Run, ".promotions_sha256") {
			checksDigest = true
		}
		if strings.Contains(s.Run, "kosli get attestation release-manifest") &&
			strings.Contains(s.Run, "--trail \"$RELEASE_ID\"") && strings.Contains(s.Run, "manifest_digest") {
			readsManifest = true
		}
		if promotions && strings.Contains(s.Run, "kosli assert artifact") &&
			strings.Contains(s.Run, "--fingerprint") && strings.Contains(s.Run, "--environment") {
			asserts = true
		}
	}
	if !setup {
		t.Error("gate does not install the Kosli CLI with kosli-dev/setup-cli-action")
	}
	if !checksDigest {
		t.Error("gate does not compare the sha256 of inputs.promotions with the promotions_sha256 annotation")
	}
	if !readsManifest {
		t.Error("gate does not read the release-manifest attestation of the trail $RELEASE_ID")
	}
	if !asserts {
		t.Error("gate does not kosli assert artifact --fingerprint … --environment … for the promotions")
	}

	// release-bot maps legs by the service a job's name shows: no service
	// may be read out of the gate's name. A service is a Kosli flow's name
	// less "-ci", so every substring that could be a flow name is tried.
	if gate.Name == "" || strings.Contains(gate.Name, "${{") {
		t.Fatalf("gate is named %q: give it a fixed name no service can be read out of", gate.Name)
	}
	flowName := regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9.\-_~]*$`)
	var services []string
	for i := range gate.Name {
		for j := i + 1; j <= len(gate.Name); j++ {
			if flowName.MatchString(gate.Name[i:j]) {
				services = append(services, gate.Name[i:j])
			}
		}
	}
	for _, service := range services {
		if legs, _ := github.MatchLegs([]github.Job{{ID: 1, Name: gate.Name}}, []string{service}); len(legs) != 0 {
			t.Errorf("gate's name %q would be taken for the leg of a service named %q", gate.Name, service)
		}
	}
	// The same check finds a service in a leg's name, so that it proves something.
	if legs, _ := github.MatchLegs([]github.Job{{ID: 2, Name: "deploy (saver)"}}, []string{"saver"}); len(legs) != 1 {
		t.Error("MatchLegs does not find saver in deploy (saver)")
	}
}
