package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestSandboxTour runs `bot sandbox --tour` through the CLI entry point: the
// real serve code against every fake, a whole release from diff to verify.
func TestSandboxTour(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	code := run(ctx, []string{"sandbox", "--tour", "--listen", "127.0.0.1:0", "--leg-time", "1s"},
		stdio{in: strings.NewReader(""), out: &out, err: &errb}, noEnv, time.Now)
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"open http://localhost:", "/sandbox/", "refused: Guests cannot approve", "so you cannot approve it",
		"5 of 5 artifacts deployed", "Verified in aws-prod#", "tour: the release succeeded",
		"tour: the bot proposed Rollback prod-", "tour: the rollback succeeded"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("tour output lacks %q:\n%s", want, out.String())
		}
	}
	// A release that went well logs no error, not even while stopping just
	// after the last reply.
	for _, line := range strings.Split(errb.String(), "\n") {
		if strings.Contains(line, " ERR ") {
			t.Errorf("the tour logged an error: %s", line)
		}
	}
}

// TestSandboxEmergencyTour: the sandbox shows a freeze and a break-glass
// release shipping through it.
func TestSandboxEmergencyTour(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	code := run(ctx, []string{"sandbox", "--tour", "--emergency", "--listen", "127.0.0.1:0", "--leg-time", "1s"},
		stdio{in: strings.NewReader(""), out: &out, err: &errb}, noEnv, time.Now)
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"froze pipeline `prod`", "refused: :snowflake: *Pipeline `prod` is frozen*", "EMERGENCY break-glass release",
		"this break-glass release needs your review", "tour: the release succeeded", "shipped through the freeze"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("tour output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestSandboxTourReportsAFailedRelease(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	code := run(ctx, []string{"sandbox", "--tour", "--listen", "127.0.0.1:0", "--leg-time", "1s", "--fail", "web"},
		stdio{in: strings.NewReader(""), out: &out, err: &errb}, noEnv, time.Now)
	if code != exitFailure || !strings.Contains(errb.String(), "did not succeed") || !strings.Contains(out.String(), "partly failed") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
}
