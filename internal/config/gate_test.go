package config_test

import (
	"testing"
	"time"

	"github.com/release-bot/release-bot/internal/config"
)

const pipelineHead = `
pipelines:
  - name: prod
    from: aws-beta
    to: aws-prod
    channel: C0123456789
    approvals: { approvers: ["@release-managers"] }
`

func TestGateTakesAModeOrAMapping(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, yaml string
		gate       config.Gate
		soak       time.Duration
	}{
		{"absent", "", config.GateEnforce, 0},
		{"scalar, as before", "    gate: warn\n", config.GateWarn, 0},
		{"mapping with both", "    gate: { mode: warn, min_soak: 2h }\n", config.GateWarn, 2 * time.Hour},
		{"mapping, mode defaults to enforce", "    gate:\n      min_soak: 90m\n", config.GateEnforce, 90 * time.Minute},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := config.Parse("bot.yaml", []byte(pipelineHead+c.yaml))
			if err != nil {
				t.Fatal(err)
			}
			p := cfg.Pipelines[0]
			if p.Gate != c.gate || p.MinSoak.Duration() != c.soak {
				t.Errorf("gate %q min_soak %v, want %q %v", p.Gate, p.MinSoak.Duration(), c.gate, c.soak)
			}
		})
	}
}

func TestChangeTicketCheckAndLink(t *testing.T) {
	t.Parallel()
	cfg, err := config.Parse("bot.yaml", []byte(pipelineHead+`    change_ticket:
      required: true
      pattern: '^CHG[0-9]+$'
      url: 'https://tickets.example/browse/{ticket}?from=bot'
`))
	if err != nil {
		t.Fatal(err)
	}
	ct := cfg.Pipelines[0].ChangeTicket
	if ct == nil || !ct.Required {
		t.Fatalf("change_ticket = %+v", ct)
	}
	for ticket, want := range map[string]string{
		"":               "this pipeline needs a change ticket: add --ticket, matching ^CHG[0-9]+$",
		"CHG12a":         "the change ticket must match ^CHG[0-9]+$",
		"chg12":          "the change ticket must match ^CHG[0-9]+$",
		"CHG1\nCHG2":     "the change ticket must match ^CHG[0-9]+$",
		"CHG" + long(70): "the change ticket must match ^CHG[0-9]+$",
		"CHG123":         "",
	} {
		err := ct.Check(ticket)
		if got := errText(err); got != want {
			t.Errorf("Check(%q) = %q, want %q", ticket, got, want)
		}
	}
	if got, want := ct.Link("CHG123"), "https://tickets.example/browse/CHG123?from=bot"; got != want {
		t.Errorf("Link = %q, want %q", got, want)
	}

	optional := &config.ChangeTicket{Pattern: ct.Pattern}
	if err := optional.Check(""); err != nil {
		t.Errorf("optional ticket, none given: %v", err)
	}
	if got := optional.Link("CHG1"); got != "" {
		t.Errorf("no url configured, Link = %q", got)
	}
	var none *config.ChangeTicket
	if err := none.Check(""); err != nil {
		t.Errorf("no change_ticket, none given: %v", err)
	}
	if got := errText(none.Check("CHG1")); got != "this pipeline takes no change ticket; leave out --ticket" {
		t.Errorf("no change_ticket, one given: %q", got)
	}
}

func TestChangeTicketLinkEscapesTheTicket(t *testing.T) {
	t.Parallel()
	// A permissive pattern lets through characters a URL path must escape.
	cfg, err := config.Parse("bot.yaml", []byte(pipelineHead+`    change_ticket: { pattern: '^.+$', url: 'https://t.example/{ticket}' }
`))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.Pipelines[0].ChangeTicket.Link("a/b c?d"), "https://t.example/a%2Fb%20c%3Fd"; got != want {
		t.Errorf("Link = %q, want %q", got, want)
	}
}

func long(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = '1'
	}
	return string(b)
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
