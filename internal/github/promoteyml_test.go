package github_test

import (
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
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
		Strategy *struct {
			FailFast *bool `yaml:"fail-fast"`
			Matrix   struct {
				Include string `yaml:"include"`
			} `yaml:"matrix"`
		} `yaml:"strategy"`
		Steps []struct {
			Run string            `yaml:"run"`
			Env map[string]string `yaml:"env"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
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
