package slacktest_test

import (
	"slices"
	"testing"
	"time"

	"github.com/slack-go/slack/socketmode"

	"github.com/release-bot/release-bot/internal/slackbot/slacktest"
)

// BenchmarkSlashCommandAck measures, at the fake, the time from sending a
// slash command envelope to reading a real slack-go client's ack, and
// reports its 99th percentile.
func BenchmarkSlashCommandAck(b *testing.B) {
	fake := newFake(b, slacktest.Options{})
	sm := runSocket(b, fake)
	serve(b, sm, func(e socketmode.Event) {
		if e.Type == socketmode.EventTypeSlashCommand {
			_ = sm.AckCtx(b.Context(), e.Request.EnvelopeID, nil)
		}
	})
	waitFor(b, fake, "a connection", func(st *slacktest.State) bool { return len(st.Connections()) == 1 })

	for b.Loop() {
		id, err := fake.SlashCommand(slacktest.SlashCommand{ChannelID: channelID, UserID: alice, Text: "diff"})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := fake.WaitAck(b.Context(), id); err != nil {
			b.Fatal(err)
		}
	}
	l := fake.AckLatencies()
	slices.Sort(l)
	b.ReportMetric(float64(l[len(l)*99/100])/float64(time.Microsecond), "p99-µs/ack")
}
