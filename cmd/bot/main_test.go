package main

import (
	"strings"
	"testing"
)

func TestMainWithoutACommandIsAUsageError(t *testing.T) {
	t.Parallel()
	got := runCLI(t, "", noEnv)
	if got.code != exitUsage || !strings.Contains(got.stder, "Usage:") || got.stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q; want 2 and the usage on stderr", got.code, got.stdout, got.stder)
	}
	for _, help := range []string{"help", "-h", "--help"} {
		if got := runCLI(t, "", noEnv, help); got.code != exitOK || !strings.Contains(got.stdout, "Usage:") {
			t.Errorf("bot %s: exit %d, stdout %q", help, got.code, got.stdout)
		}
	}
}

func TestMainSandboxFailNamingNoServiceIsAUsageError(t *testing.T) {
	t.Parallel()
	got := runCLI(t, "", noEnv, "sandbox", "--fail", "not-a-service", "--listen", "127.0.0.1:0")
	if got.code != exitUsage || !strings.Contains(got.stder, `--fail "not-a-service" names no service of the sandbox (services: `) ||
		!strings.Contains(got.stder, "web") {
		t.Fatalf("exit %d, stderr %q", got.code, got.stder)
	}
}
