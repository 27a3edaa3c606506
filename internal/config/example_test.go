package config_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/release-bot/release-bot/internal/config"
)

// TestDeployExampleParses keeps deploy/examples/pipelines.yaml, the file
// people copy, in step with the parser.
func TestDeployExampleParses(t *testing.T) {
	cfg := load(t, "../../deploy/examples/pipelines.yaml")
	checkPromises(t, cfg)
	if len(cfg.Pipelines) != 2 {
		t.Fatalf("got %d pipelines, want 2", len(cfg.Pipelines))
	}
	prod, _ := cfg.Pipeline("prod")
	staging, _ := cfg.Pipeline("staging")
	if prod == nil || staging == nil {
		t.Fatal("prod or staging missing")
	}
	if prod.Approvals.Required != 2 || prod.Workflow.Matrix != config.MatrixCyberDojo || prod.Gate != config.GateEnforce {
		t.Errorf("prod = %+v", prod)
	}
	if staging.Approvals.Required != 1 || staging.Evidence.Flow != "staging-release" || staging.Workflow.Ref != "main" ||
		staging.Workflow.Timeout.Duration() != 2*time.Hour || staging.Gate != config.GateWarn {
		t.Errorf("staging = %+v, want its defaults filled in", staging)
	}
}

func ExampleParse() {
	_, err := config.Parse("bot.yaml", []byte(`
pipelines:
  - name: prod
    from: aws-beta
    to: aws-prod
    channel: "#releases"
    approvals: { required: 0, approvers: ["@release-managers"] }
`))
	fmt.Println(err)
	// Output:
	// bot.yaml:6: pipelines[0].channel: "#releases" is a channel name; use the channel id (like C0123456789), found at the bottom of the channel's details
	// bot.yaml:7: pipelines[0].approvals.required: must be at least 1
}

func ExampleSchedule_Next() {
	s, err := config.ParseSchedule("CRON_TZ=Europe/London 0 9 * * 1-5")
	if err != nil {
		panic(err)
	}
	friday := time.Date(2026, time.October, 23, 12, 0, 0, 0, time.UTC)
	fmt.Println(s.Next(friday).UTC())
	// Output: 2026-10-26 09:00:00 +0000 UTC
}

func ExampleDuration_String() {
	d, _ := config.ParseDuration("90d")
	fmt.Println(d, d.Duration())
	// Output: 90d 2160h0m0s
}
