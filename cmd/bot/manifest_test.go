package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const manifests = "../../internal/release/testdata/manifest"

func TestManifestVerify(t *testing.T) {
	t.Parallel()
	example, err := os.ReadFile(filepath.Join(manifests, "example.json"))
	if err != nil {
		t.Fatal(err)
	}
	const ok = "OK prod-2025-03-02-1 sha256:09ea81b55ff18023d7bafd4f39c1adacd3b4405a3f9a25566876030ea6b7d2bb (4 artifacts)\n"

	got := runCLI(t, "", noEnv, "manifest", "verify", filepath.Join(manifests, "example.json"))
	if got.code != exitOK || got.stdout != ok || got.stder != "" {
		t.Fatalf("good manifest: %+v", got)
	}
	got = runCLI(t, string(example), noEnv, "manifest", "verify", "-")
	if got.code != exitOK || got.stdout != ok {
		t.Fatalf("good manifest on stdin: %+v", got)
	}

	tampered := filepath.Join(manifests, "tampered.json")
	got = runCLI(t, "", noEnv, "manifest", "verify", tampered)
	want := "bot manifest verify: " + tampered + ": FAILED: digest mismatch: file says sha256:09ea81b55ff18023d7bafd4f39c1adacd3b4405a3f9a25566876030ea6b7d2bb, " +
		"content hashes to sha256:b8c78b9880be0d7b5536d9e71658e43cc7315cc916b32b0d7a340ff539b197df: it was changed after it was sealed\n"
	if got.code != exitFailure || got.stdout != "" || got.stder != want {
		t.Fatalf("tampered manifest: exit %d, stdout %q\nstderr %q\nwant   %q", got.code, got.stdout, got.stder, want)
	}

	invalid := bytes.Replace(example, []byte(`"type": "docker-image"`), []byte(`"type": "helm-chart"`), 1)
	invalid = bytes.Replace(invalid, []byte(`"releaseId": "prod-2025-03-02-1"`), []byte(`"releaseId": "prod 1"`), 1)
	got = runCLI(t, string(invalid), noEnv, "manifest", "verify", "-")
	lines := strings.Split(strings.TrimSuffix(got.stder, "\n"), "\n")
	if got.code != exitFailure || got.stdout != "" || len(lines) != 3 ||
		lines[0] != "bot manifest verify: stdin: FAILED: does not follow the release manifest schema (2 problems):" ||
		!strings.HasPrefix(lines[1], "  /artifacts/0/type: value must be 'docker-image'") ||
		!strings.HasPrefix(lines[2], "  /releaseId: 'prod 1' does not match pattern") {
		t.Fatalf("schema-invalid manifest: exit %d, stdout %q, stderr:\n%s", got.code, got.stdout, got.stder)
	}
}

func TestManifestVerifyBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cases := []struct {
		name  string
		args  []string
		stdin string
		want  string
	}{
		{"garbage", []string{"verify", "-"}, "\x00\x01 not json", "stdin: release manifest: invalid JSON at byte 1: invalid character '\\x00' looking for beginning of value"},
		{"truncated", []string{"verify", "-"}, `{"schemaVersion": "1.0.0",`, "stdin: release manifest: invalid JSON: unexpected end of input"},
		{"empty", []string{"verify", "-"}, " \n", "stdin: release manifest: invalid JSON: empty input"},
		{"missing file", []string{"verify", filepath.Join(dir, "nope.json")}, "", "nope.json: no such file"},
		{"a directory", []string{"verify", dir}, "", "is a directory"},
		{"no subcommand", nil, "", "say what to do: bot manifest verify FILE"},
		{"unknown subcommand", []string{"sign", "x"}, "", `unknown subcommand "sign" (subcommands: verify)`},
		{"no file", []string{"verify"}, "", "which manifest? bot manifest verify FILE (- for stdin)"},
		{"two files", []string{"verify", "a", "b"}, "", `unexpected argument "b": verify one FILE at a time`},
		{"unknown flag", []string{"verify", "--quiet", "a"}, "", "bot manifest verify: flag provided but not defined: -quiet"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := runCLI(t, c.stdin, noEnv, append([]string{"manifest"}, c.args...)...)
			if got.code != exitUsage || got.stdout != "" {
				t.Errorf("exit %d, stdout %q; want %d and nothing", got.code, got.stdout, exitUsage)
			}
			if strings.Count(got.stder, "\n") != 1 || !strings.Contains(got.stder, c.want) {
				t.Errorf("stderr %q, want one line containing %q", got.stder, c.want)
			}
		})
	}
}

func TestManifestHelp(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"manifest", "--help"}, {"manifest", "verify", "--help"}} {
		got := runCLI(t, "", noEnv, args...)
		if got.code != exitOK || !strings.HasPrefix(got.stdout, "Usage: bot manifest verify FILE") || got.stder != "" {
			t.Errorf("%q: %+v", args, got)
		}
	}
}
