package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/release-bot/release-bot/internal/github/githubtest"
)

// kosliCLI plays the two commands of the Kosli CLI (v2.38) the workflow's
// gate runs, over the same HTTP API the CLI calls, so that the gate's own
// scripts run against the fake Kosli:
//   - `kosli assert artifact --fingerprint FP --environment ENV` GETs
//     /api/v2/asserts/{org}/fingerprint/{fp}?environment_name=ENV and exits
//     non-zero unless the answer's "compliant" is true (kosli-dev/cli
//     cmd/kosli/assertArtifact.go: "Exits with zero code if the artifact has
//     compliant status, non-zero code if non-compliant status");
//   - `kosli get attestation NAME --flow F --trail T --output json` GETs
//     /api/v2/attestations/{org}/{F}/trail/{T}/{NAME} and prints the JSON
//     (cmd/kosli/getAttestation.go), failing on a non-2xx answer.
//
// Anything else is refused, so a gate that starts using another command
// fails here instead of passing untested.
const kosliCLI = `#!/usr/bin/env bash
set -euo pipefail
api="$KOSLI_HOST/api/v2"
auth="Authorization: Bearer $KOSLI_API_TOKEN"
case "$1 $2" in
"assert artifact")
  [ "$#" = 6 ] && [ "$3" = --fingerprint ] && [ "$5" = --environment ] || { echo "kosli stub: unexpected: $*" >&2; exit 2; }
  out=$(curl -fsS -H "$auth" "$api/asserts/$KOSLI_ORG/fingerprint/$4?environment_name=$6") || { echo "Error: $out" >&2; exit 1; }
  if jq -e '.compliant == true' <<<"$out" >/dev/null; then echo "COMPLIANT"; else echo "Error: Artifact is not compliant" >&2; exit 1; fi ;;
"get attestation")
  [ "$#" = 9 ] && [ "$4" = --flow ] && [ "$6" = --trail ] && [ "$8 $9" = "--output json" ] || { echo "kosli stub: unexpected: $*" >&2; exit 2; }
  curl -fsS -H "$auth" "$api/attestations/$KOSLI_ORG/$5/trail/$7/$3" ;;
*)
  echo "kosli stub: unexpected: $*" >&2; exit 2 ;;
esac
`

// gateRun is what the gate job printed and whether it passed.
type gateRun struct {
	out    string
	passed bool
}

// runGate runs the scripts of the gate job of deploy/github/promote.yml in
// bash, one step after the other as GitHub Actions does (each step's
// GITHUB_OUTPUT read into steps.<id>.outputs), with the dispatch's inputs
// and the workflow's env pointed at the fake Kosli. It needs bash, curl and
// jq, as a GitHub-hosted runner has them (.ci/run installs them here).
func runGate(t *testing.T, b *shipBot, inputs map[string]string) gateRun {
	t.Helper()
	data, err := os.ReadFile("../../deploy/github/promote.yml")
	if err != nil {
		t.Fatal(err)
	}
	var wf struct {
		Env  map[string]string `yaml:"env"`
		Jobs map[string]struct {
			Env   map[string]string `yaml:"env"`
			Steps []struct {
				ID  string            `yaml:"id"`
				Run string            `yaml:"run"`
				Env map[string]string `yaml:"env"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(data, &wf); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "kosli"), []byte(kosliCLI), 0o755); err != nil {
		t.Fatal(err)
	}
	outputs := map[string]map[string]string{}
	// expr evaluates the only expressions the gate's env uses.
	expr := func(v string) string {
		v = strings.TrimSpace(v)
		if !strings.HasPrefix(v, "${{") {
			return v
		}
		e := strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(v, "${{"), "}}"))
		switch {
		case strings.HasPrefix(e, "inputs."):
			return inputs[strings.TrimPrefix(e, "inputs.")]
		case strings.HasPrefix(e, "steps."):
			parts := strings.Split(e, ".") // steps.<id>.outputs.<name>
			return outputs[parts[1]][parts[3]]
		case e == "vars.KOSLI_ORG":
			return "cyber-dojo"
		case strings.HasPrefix(e, "vars.KOSLI_HOST"):
			return b.kosli.URL()
		case e == "secrets.KOSLI_API_TOKEN":
			return kosliToken
		}
		t.Fatalf("the gate uses an expression this test does not know: %s", v)
		return ""
	}
	var run gateRun
	gate := wf.Jobs["gate"]
	for _, step := range gate.Steps {
		if step.Run == "" {
			continue // the CLI's setup action: the stub is on PATH
		}
		outFile := filepath.Join(dir, "output-"+step.ID)
		env := []string{"PATH=" + dir + ":" + os.Getenv("PATH"), "HOME=" + dir, "GITHUB_OUTPUT=" + outFile}
		for _, vars := range []map[string]string{wf.Env, gate.Env, step.Env} {
			for k, v := range vars {
				env = append(env, k+"="+expr(v))
			}
		}
		cmd := exec.CommandContext(t.Context(), "bash", "-e", "-c", step.Run)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		run.out += string(out)
		if err != nil {
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("gate step: %v", err)
			}
			return run
		}
		if step.ID != "" {
			outputs[step.ID] = readOutputs(t, outFile)
		}
	}
	run.passed = true
	return run
}

// readOutputs reads a step's GITHUB_OUTPUT file of name=value lines.
func readOutputs(t *testing.T, file string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	out := map[string]string{}
	for line := range strings.Lines(string(data)) {
		if k, v, ok := strings.Cut(strings.TrimRight(line, "\n"), "="); ok {
			out[k] = v
		}
	}
	return out
}

// dispatched is the inputs of the release's only workflow run.
func dispatched(t *testing.T, b *shipBot) map[string]string {
	t.Helper()
	runs := b.gh.Runs()
	if len(runs) != 1 {
		t.Fatalf("%d runs", len(runs))
	}
	return runs[0].Inputs
}

// TestTheWorkflowGatePassesOnlyWhatWasApproved runs the gate's own scripts
// after an ordinary release: the dispatch release-bot made passes (every
// artifact's decision is compliant in Kosli), and the same dispatch with
// one more artifact, or with an artifact of the release but the inputs of
// nothing release-bot recorded, fails before anything deploys.
func TestTheWorkflowGatePassesOnlyWhatWasApproved(t *testing.T) {
	t.Parallel()
	b := startShip(t, "2", githubtest.Workflow{}, shipSetup{})
	enforced(t, b.bot, "2")
	b.command(alice, releaseChannel, "propose")
	msg := b.releaseMessage()
	b.click(carol, msg.TS, "release_approve")
	b.threadHas(msg.TS, "Release succeeded")
	inputs := dispatched(t, b)

	if g := runGate(t, b, inputs); !g.passed || !strings.Contains(g.out, "all 2 artifacts are approved for aws-prod") || strings.Contains(g.out, "break-glass") {
		t.Fatalf("the gate refused the release's own dispatch:\n%s", g.out)
	}
	forged := map[string]string{}
	for k, v := range inputs {
		forged[k] = v
	}
	forged["promotions"] = strings.Replace(inputs["promotions"], `[{`, `[{"service":"extra","digest":"sha256:`+strings.Repeat("e", 64)+`"},{`, 1)
	if g := runGate(t, b, forged); g.passed || !strings.Contains(g.out, "is not what release-bot dispatched for "+releaseID(msg)) {
		t.Fatalf("the gate passed promotions release-bot never recorded:\n%s", g.out)
	}
	forged["release_id"], forged["promotions"] = "prod-2099-01-01-1", inputs["promotions"]
	if g := runGate(t, b, forged); g.passed || !strings.Contains(g.out, "release-bot did not record this release") {
		t.Fatalf("the gate passed a release nobody proposed:\n%s", g.out)
	}
}

// TestTheWorkflowGateAndABreakGlassRelease: a break-glass release ships
// before anyone reviews it, so its decisions are recorded non-compliant,
// pending review, and its artifacts show as non-compliant in aws-prod. The
// gate lets its own dispatch through, loudly, because the one rule each
// artifact fails is that decision; an artifact that also lacks other
// evidence still fails; once the release is flagged Not OK its inputs no
// longer pass; once reviewed OK, its decisions are compliant.
func TestTheWorkflowGateAndABreakGlassRelease(t *testing.T) {
	t.Parallel()
	b := startShip(t, "2", githubtest.Workflow{}, shipSetup{},
		withBreakGlass(t, `allowed: ["U0ALICE0001"], required: 0`))
	fps := enforced(t, b.bot, "2")
	b.command(alice, releaseChannel, "propose --break-glass payments are down")
	msg := b.releaseMessage()
	b.threadHas(msg.TS, "Release succeeded")
	inputs := dispatched(t, b)
	if !eventually(func() bool { return breakGlassDecisions(b, "pending") == 2 }) {
		t.Fatalf("the decisions are not recorded pending review: %+v", b.kosli.Attestations())
	}
	for _, fp := range fps {
		if c := assertProd(t, b.bot, fp); c.Compliant {
			t.Errorf("%s is compliant in aws-prod before its break-glass release is reviewed", fp)
		}
	}
	g := runGate(t, b, inputs)
	if !g.passed || !strings.Contains(g.out, "::warning::"+releaseID(msg)+" is a break-glass release awaiting its review: payments are down") ||
		strings.Count(g.out, "its decision for release-approved is pending review") != 2 {
		t.Fatalf("the gate refused the break-glass release's own dispatch:\n%s", g.out)
	}

	// One more rule unmet (evidence the artifacts lack) is not a pending
	// review: the gate refuses.
	if err := b.kosli.AttachPolicy("aws-prod", "_schema: https://kosli.com/schemas/policy/environment/v1\nartifacts:\n  attestations:\n    - name: snyk-scan\n      type: snyk\n"); err != nil {
		t.Fatal(err)
	}
	if g := runGate(t, b, inputs); g.passed || !strings.Contains(g.out, "is not compliant for aws-prod") {
		t.Fatalf("the gate passed a break-glass artifact that lacks other evidence:\n%s", g.out)
	}
	b.kosli.DetachPolicy("aws-prod", "aws-prod-policy-2")

	// Flagged Not OK: the review is on the trail, the decisions stay
	// non-compliant, and the same inputs no longer pass.
	id, err := b.slack.SendEnvelope("interactive", b.dialog(carol, msg.TS, "release_review_flag", "release_review_reason")("not an emergency"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.slack.WaitAck(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	b.threadHas(msg.TS, ":x: *Flagged Not OK* by <@"+carol+">")
	if !eventually(func() bool {
		return breakGlassDecisions(b, "not_ok") == 2 && reviewOnTrail(b, releaseID(msg)) == "false"
	}) {
		t.Fatalf("the review is not recorded in Kosli: %+v", b.kosli.Attestations())
	}
	if g := runGate(t, b, inputs); g.passed || !strings.Contains(g.out, "was reviewed: its decisions are judged as recorded") {
		t.Fatalf("the gate passed a break-glass release flagged Not OK:\n%s", g.out)
	}
}

// TestABreakGlassReviewedOKBecomesCompliant: the review OK records every
// artifact's decision again, compliant, and the break-glass-review on the
// trail; aws-prod is compliant, and the gate passes the inputs as any
// approved release's, without the break-glass path.
func TestABreakGlassReviewedOKBecomesCompliant(t *testing.T) {
	t.Parallel()
	b := startShip(t, "2", githubtest.Workflow{}, shipSetup{},
		withBreakGlass(t, `allowed: ["U0ALICE0001"], required: 0`))
	fps := enforced(t, b.bot, "2")
	b.command(alice, releaseChannel, "propose --break-glass payments are down")
	msg := b.releaseMessage()
	b.threadHas(msg.TS, "Release succeeded")
	b.waitParent(msg.TS, "the review buttons", "Review by an approver due")
	id, err := b.slack.SendEnvelope("interactive", b.dialog(carol, msg.TS, "release_review_ok", "release_review_reason")(""))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.slack.WaitAck(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	if !eventually(func() bool { return breakGlassDecisions(b, "ok") == 2 && reviewOnTrail(b, releaseID(msg)) == "true" }) {
		t.Fatalf("the review is not recorded in Kosli: %+v", b.kosli.Attestations())
	}
	for _, fp := range fps {
		if c := assertProd(t, b.bot, fp); !c.Compliant {
			t.Errorf("%s is not compliant in aws-prod after the review: %v", fp, c.Failures)
		}
	}
	if g := runGate(t, b, dispatched(t, b)); !g.passed || strings.Contains(g.out, "pending review") {
		t.Fatalf("the gate after the review:\n%s", g.out)
	}
}

// reviewOnTrail is the compliance of the trail's break-glass-review
// attestation, "" when there is none.
func reviewOnTrail(b *shipBot, trail string) string {
	for _, a := range b.kosli.Attestations() {
		if a.Trail == trail && a.Name == "break-glass-review" && a.Compliant != nil {
			return fmt.Sprint(*a.Compliant)
		}
	}
	return ""
}
