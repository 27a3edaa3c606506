package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fixedNow is the clock every CLI test runs on.
var fixedNow = func() time.Time { return time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC) }

func noEnv(string) string { return "" }

type result struct {
	code          int
	stdout, stder string
}

func runCLI(t *testing.T, stdin string, getenv func(string) string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, stdio{in: strings.NewReader(stdin), out: &out, err: &errb}, getenv, fixedNow)
	return result{code: code, stdout: out.String(), stder: errb.String()}
}

const conformance = "../../testdata/cyber-dojo-promotions"

// TestConformance runs every cyber-dojo fixture through the real CLI entry
// point and compares stdout, stderr and the exit status byte for byte with
// what cyber-dojo's own promotion script produces.
func TestConformance(t *testing.T) {
	t.Parallel()
	diffs, err := filepath.Glob(filepath.Join(conformance, "diff-snapshots", "*.json"))
	if err != nil || len(diffs) != 11 {
		t.Fatalf("want the 11 conformance fixtures, found %d (%v)", len(diffs), err)
	}
	for _, diff := range diffs {
		name := strings.TrimSuffix(filepath.Base(diff), ".json")
		t.Run(name, func(t *testing.T) {
			args := []string{"plan", "--org", "cyber-dojo", "--output", "matrix", "--diff-file", diff}
			switch {
			case strings.HasSuffix(name, "-unmatched"):
				args = append(args, "--service", "not-a-service")
			case strings.HasSuffix(name, "-matched"):
				args = append(args, "--service", "nginx")
			}
			got := runCLI(t, "", noEnv, args...)
			if want, err := os.ReadFile(filepath.Join(conformance, "expected", name+".json")); err == nil {
				if got.code != exitOK || got.stdout != string(want) || got.stder != "" {
					t.Fatalf("exit %d, stderr %q\nstdout:\n%s\nwant:\n%s", got.code, got.stder, got.stdout, want)
				}
				return
			}
			want, err := os.ReadFile(filepath.Join(conformance, "expected", name+".txt"))
			if err != nil {
				t.Fatal(err)
			}
			if got.code != exitRefused || got.stdout != "" || got.stder != string(want) {
				t.Fatalf("exit %d, stdout %q\nstderr:\n%s\nwant:\n%s", got.code, got.stdout, got.stder, want)
			}
		})
	}
}

func TestPlanReadsStdin(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join(conformance, "diff-snapshots", "2.json"))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(filepath.Join(conformance, "expected", "2.json"))
	got := runCLI(t, string(data), func(k string) string {
		if k == "KOSLI_ORG" {
			return "cyber-dojo"
		}
		return ""
	}, "plan", "--diff-file", "-", "--output", "matrix")
	if got.code != 0 || got.stdout != string(want) {
		t.Fatalf("exit %d stderr %q", got.code, got.stder)
	}
}

// TestPlanStdinFileOrPipe: stdin redirected from a file is mapped, a pipe is
// read; both give the fixture's answer byte for byte.
func TestPlanStdinFileOrPipe(t *testing.T) {
	t.Parallel()
	diff := filepath.Join(conformance, "diff-snapshots", "4.json")
	want, err := os.ReadFile(filepath.Join(conformance, "expected", "4.json"))
	if err != nil {
		t.Fatal(err)
	}
	file := func(t *testing.T) *os.File {
		f, err := os.Open(diff)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	pipe := func(t *testing.T) *os.File {
		data, err := os.ReadFile(diff)
		if err != nil {
			t.Fatal(err)
		}
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			_, _ = w.Write(data)
			w.Close()
		}()
		return r
	}
	for name, open := range map[string]func(*testing.T) *os.File{"file": file, "pipe": pipe} {
		t.Run(name, func(t *testing.T) {
			in := open(t)
			defer in.Close()
			var out, errb bytes.Buffer
			code := run(context.Background(), []string{"plan", "--org", "cyber-dojo", "--output", "matrix", "--diff-file", "-"},
				stdio{in: in, out: &out, err: &errb}, noEnv, fixedNow)
			if code != exitOK || out.String() != string(want) || errb.Len() != 0 {
				t.Fatalf("exit %d, stderr %q\nstdout:\n%s", code, errb.String(), out.String())
			}
		})
	}
}

func TestPlanBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"missing file", []string{"--diff-file", filepath.Join(dir, "nope.json")}, "nope.json: no such file"},
		{"invalid JSON", []string{"--diff-file", write("bad.json", `{"snappish1": [`)}, "invalid JSON"},
		{"not an object", []string{"--diff-file", write("arr.json", `[]`)}, "want a JSON object, got an array"},
		{"html", []string{"--diff-file", write("h.json", `<html>502</html>`)}, "what looks like HTML"},
		{"missing key", []string{"--diff-file", write("k.json", `{"snappish1":{"snapshot_id":"a#1","artifacts":[]},"changed":{"artifacts":[]},"not-changed":{"artifacts":[]}}`)}, `missing key "snappish2"`},
		{"missing artifacts", []string{"--diff-file", write("a.json", `{"snappish1":{"snapshot_id":"a#1"},"snappish2":{"snapshot_id":"b#1","artifacts":[]},"changed":{"artifacts":[]},"not-changed":{"artifacts":[]}}`)}, `missing key "artifacts" in "snappish1"`},
		{"wrong type", []string{"--diff-file", write("t.json", `{"snappish1":{"snapshot_id":7,"artifacts":[]},"snappish2":{"snapshot_id":"b#1","artifacts":[]},"changed":{"artifacts":[]},"not-changed":{"artifacts":[]}}`)}, "snapshot_id"},
		{"empty", []string{"--diff-file", write("e.json", ``)}, "empty input"},
		{"unknown flag", []string{"--frobnicate"}, "flag provided but not defined: -frobnicate"},
		{"bad output", []string{"--output", "yaml", "--diff-file", "x"}, `--output must be text, json or matrix, not "yaml"`},
		{"no source", []string{}, "--from ENV --to ENV, or --diff-file FILE"},
		{"both sources", []string{"--from", "a", "--to", "b", "--diff-file", "x"}, "not both"},
		{"stray argument", []string{"--diff-file", "x", "extra"}, `unexpected argument "extra"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := runCLI(t, "", noEnv, append([]string{"plan", "--org", "o"}, c.args...)...)
			if got.code != exitUsage {
				t.Errorf("exit %d, want %d", got.code, exitUsage)
			}
			if got.stdout != "" {
				t.Errorf("stdout %q, want nothing", got.stdout)
			}
			lines := strings.Split(strings.TrimSpace(got.stder), "\n")
			if len(lines) != 1 || !strings.Contains(got.stder, c.want) || strings.Contains(got.stder, "goroutine") {
				t.Errorf("stderr %q, want one line containing %q", got.stder, c.want)
			}
		})
	}
}

// TestPlanNeedsOrgOnlyToAskKosli: a diff file is planned without an org,
// with no Kosli links (they would lack the org); asking Kosli needs one.
func TestPlanNeedsOrgOnlyToAskKosli(t *testing.T) {
	t.Parallel()
	got := runCLI(t, "", noEnv, "plan", "--from", "aws-beta", "--to", "aws-prod")
	if got.code != exitUsage || !strings.Contains(got.stder, "pass --org or set KOSLI_ORG") {
		t.Fatalf("%+v", got)
	}
	diff := filepath.Join(conformance, "diff-snapshots", "2.json")
	withOrg := runCLI(t, "", noEnv, "plan", "--org", "cyber-dojo", "--diff-file", diff, "--output", "json")
	got = runCLI(t, "", noEnv, "plan", "--diff-file", diff, "--output", "json")
	if got.code != exitOK || withOrg.code != exitOK {
		t.Fatalf("exit %d (%d with --org): %s", got.code, withOrg.code, got.stder)
	}
	if !strings.Contains(withOrg.stdout, `"snapshot_url": "https://app.kosli.com/cyber-dojo/`) {
		t.Fatalf("with --org, no snapshot links:\n%s", withOrg.stdout)
	}
	if strings.Contains(got.stdout, "app.kosli.com") || !strings.Contains(got.stdout, `"snapshot_url": ""`) {
		t.Errorf("without --org, a Kosli link:\n%s", got.stdout)
	}
	if n := strings.Count(got.stdout, `"service": `); n == 0 || n != strings.Count(withOrg.stdout, `"service": `) {
		t.Errorf("%d promotions without --org, want the same as with it", n)
	}
}

func TestPlanTextAndJSON(t *testing.T) {
	t.Parallel()
	diff := filepath.Join(conformance, "diff-snapshots", "new-flow.json")
	got := runCLI(t, "", noEnv, "plan", "--org", "cyber-dojo", "--diff-file", diff)
	if got.code != 0 {
		t.Fatalf("exit %d: %s", got.code, got.stder)
	}
	for _, want := range []string{
		"aws-beta#4967 → aws-prod#3616: 2 to promote, 8 unchanged",
		"SERVICE", "saver", "434b2f8", "6e191a0", "web", "(new)",
		"https://github.com/cyber-dojo/web/commit/59ba013",
	} {
		if !strings.Contains(got.stdout, want) {
			t.Errorf("text output lacks %q:\n%s", want, got.stdout)
		}
	}
	got = runCLI(t, "", noEnv, "plan", "--org", "cyber-dojo", "--diff-file", diff, "--output", "json")
	for _, want := range []string{`"refused": false`, `"service": "web"`, `"new": true`, `"waited_seconds": `, `"unchanged": 8`} {
		if !strings.Contains(got.stdout, want) {
			t.Errorf("json output lacks %q:\n%s", want, got.stdout)
		}
	}
}

func TestUnknownCommand(t *testing.T) {
	t.Parallel()
	got := runCLI(t, "", noEnv, "deploy")
	if got.code != exitUsage || !strings.Contains(got.stder, `unknown command "deploy"`) {
		t.Fatalf("%+v", got)
	}
	got = runCLI(t, "", noEnv)
	if got.code != exitUsage || !strings.Contains(got.stder, "bot plan") {
		t.Fatalf("%+v", got)
	}
}
