package config_test

import (
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/release-bot/release-bot/internal/config"
)

var update = flag.Bool("update", false, "rewrite the expected .err files in testdata/config")

// TestParseRefusesEachBadFile parses every testdata/config file but the
// valid-* ones and compares the whole error text with its .err sibling, so a
// change of wording is a deliberate change of a file.
func TestParseRefusesEachBadFile(t *testing.T) {
	files, err := filepath.Glob("testdata/config/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, file := range files {
		base := filepath.Base(file)
		if strings.HasPrefix(base, "valid-") {
			continue
		}
		seen++
		t.Run(strings.TrimSuffix(base, ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := config.Parse(base, data)
			if err == nil {
				t.Fatalf("Parse accepted it: %+v", cfg)
			}
			if cfg != nil {
				t.Errorf("Parse returned a config with its error")
			}
			for _, e := range problemsOf(t, err) {
				if e.File != base || e.Rule == "" {
					t.Errorf("problem without a file or a rule: %#v", e)
				}
			}
			golden := strings.TrimSuffix(file, ".yaml") + ".err"
			got := err.Error() + "\n"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("error text changed\ngot:\n%s\nwant:\n%s", got, want)
			}
		})
	}
	if seen < 40 {
		t.Errorf("only %d bad files found", seen)
	}
}

// problemsOf flattens what Parse returned into its *Errors, failing the
// test on anything else.
func problemsOf(t testing.TB, err error) []*config.Error {
	t.Helper()
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		var all []*config.Error
		for _, e := range joined.Unwrap() {
			all = append(all, problemsOf(t, e)...)
		}
		return all
	}
	var e *config.Error
	if !errors.As(err, &e) || error(e) != err {
		t.Fatalf("not a *config.Error: %T %v", err, err)
	}
	return []*config.Error{e}
}

func TestErrorText(t *testing.T) {
	for _, tc := range []struct {
		e    config.Error
		want string
	}{
		{config.Error{File: "bot.yaml", Line: 12, Field: "pipelines[1].approvals.required", Rule: "must be at least 1"},
			"bot.yaml:12: pipelines[1].approvals.required: must be at least 1"},
		{config.Error{File: "bot.yaml", Field: "pipelines", Rule: "must list at least one pipeline"},
			"bot.yaml: pipelines: must list at least one pipeline"},
		{config.Error{File: "bot.yaml", Line: 3, Rule: "is not valid YAML: x"}, "bot.yaml:3: is not valid YAML: x"},
		{config.Error{Field: "gate", Rule: "must be enforce or warn"}, "gate: must be enforce or warn"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}

func TestLoadNamesTheFile(t *testing.T) {
	_, err := config.Load("testdata/config/bad-gate.yaml")
	if err == nil || !strings.HasPrefix(err.Error(), "testdata/config/bad-gate.yaml:") {
		t.Errorf("Load error = %v, want it to start with the path", err)
	}

	missing := filepath.Join(t.TempDir(), "bot.yaml")
	_, err = config.Load(missing)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load of a missing file: %v, want fs.ErrNotExist", err)
	}
	want := missing + ": cannot read the file: no such file or directory"
	if err == nil || err.Error() != want {
		t.Errorf("Load of a missing file = %v, want %q", err, want)
	}
}

func TestParseReportsEveryProblemInLineOrder(t *testing.T) {
	data, err := os.ReadFile("testdata/config/multiple-problems.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = config.Parse("bot.yaml", data)
	problems := problemsOf(t, err)
	if len(problems) < 5 {
		t.Fatalf("got %d problems, want every one of them: %v", len(problems), err)
	}
	for i := 1; i < len(problems); i++ {
		if problems[i].Line < problems[i-1].Line {
			t.Errorf("problem %d (line %d) comes after line %d", i, problems[i].Line, problems[i-1].Line)
		}
	}
}
