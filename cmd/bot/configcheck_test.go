package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigCheck: `bot config check FILE` needs no environment; it exits 0
// on a valid file and 2 on an invalid one, with the file, line and field.
func TestConfigCheck(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("bot.yaml", e2eConfig)
	bad := write("bad.yaml", "pipelines:\n  - name: prod\n    from: a\n    to: b\n    channel: '#releases'\n    approvals: {approvers: [U0ALICE0001]}\n")

	got := runCLI(t, "", noEnv, "config", "check", good)
	if got.code != exitOK || !strings.Contains(got.stdout, "bot.yaml: valid, 1 pipeline(s)") || got.stder != "" {
		t.Fatalf("valid file: %+v", got)
	}
	got = runCLI(t, "", noEnv, "config", "check", bad)
	if got.code != exitUsage || !strings.Contains(got.stder, "bad.yaml:5: pipelines[0].channel") || got.stdout != "" {
		t.Fatalf("invalid file: %+v", got)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"config"}, "bot config check FILE"},
		{[]string{"config", "lint", good}, "bot config check FILE"},
		{[]string{"config", "check"}, "name one pipelines file"},
		{[]string{"config", "check", good, bad}, "unexpected argument"},
		{[]string{"config", "check", filepath.Join(dir, "nope.yaml")}, "nope.yaml: cannot read the file"},
	} {
		got := runCLI(t, "", noEnv, c.args...)
		if got.code != exitUsage || !strings.Contains(got.stder, c.want) {
			t.Errorf("bot %s: exit %d, stderr %q; want 2 and %q", strings.Join(c.args, " "), got.code, got.stder, c.want)
		}
	}
	if got := runCLI(t, "", noEnv, "config", "check", "--help"); got.code != exitOK || !strings.Contains(got.stdout, "Usage: bot config check FILE") {
		t.Errorf("--help: %+v", got)
	}
}
