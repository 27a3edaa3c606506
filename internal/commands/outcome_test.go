package commands_test

import (
	"context"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/slack-go/slack"

	"github.com/release-bot/release-bot/internal/commands"
	"github.com/release-bot/release-bot/internal/metrics"
)

// TestRefusalIsCountedRefusedNotError: an ordinary "no" to a command is
// outcome="refused", so the alert on outcome="error" stays quiet.
func TestRefusalIsCountedRefusedNotError(t *testing.T) {
	m := metrics.New()
	e := newDriftEnv(t, "2", func(d *commands.Deps) { d.Metrics = m })
	e.h.Command(context.Background(), slack.SlashCommand{TeamID: "T0SLACKTEST", ChannelID: driftChannel, UserID: "U0ALICE0001", Command: "/release", Text: "propose prod saver"})
	if got := count(t, m, "propose", "refused"); got != 1 {
		t.Errorf("propose refused = %v, want 1", got)
	}
	if got := count(t, m, "propose", "error"); got != 0 {
		t.Errorf("propose error = %v, want 0", got)
	}
}

// count reads one commands_total counter.
func count(t *testing.T, m *metrics.Metrics, command, outcome string) float64 {
	t.Helper()
	var pb dto.Metric
	if err := m.Commands.WithLabelValues(command, outcome).Write(&pb); err != nil {
		t.Fatal(err)
	}
	return pb.GetCounter().GetValue()
}
