package main

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/release-bot/release-bot/internal/kosli/kositest"
	"github.com/release-bot/release-bot/internal/slackbot/slacktest"
)

// BenchmarkAckBurst: 500 /release diff envelopes arrive at once while every
// Kosli call takes 2 s. Every envelope must be acked, and the p99 of
// envelope-to-ack, measured at the fake Slack, must stay ≤ 50 ms: the loop
// acks before any work and never waits on Kosli.
func BenchmarkAckBurst(b *testing.B) {
	const burst = 500
	bt := startBot(b, "2")
	for b.Loop() {
		for range burst {
			bt.kosli.Script(kositest.RouteEnvDiff, kositest.Response{PassThrough: true, Delay: 2 * time.Second})
		}
		ids := make([]string, 0, burst)
		for range burst {
			id, err := bt.slack.SlashCommand(slacktest.SlashCommand{ChannelID: releaseChannel, UserID: alice, Text: "diff"})
			if err != nil {
				b.Fatal(err)
			}
			ids = append(ids, id)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		for _, id := range ids {
			if _, err := bt.slack.WaitAck(ctx, id); err != nil {
				b.Fatalf("envelope %s not acked: %v", id, err)
			}
		}
		cancel()
	}
	lat := bt.slack.AckLatencies()
	slices.Sort(lat)
	p99 := lat[len(lat)*99/100]
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ack-ms")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ack-ms")
	b.ReportMetric(float64(len(lat)), "acks")
}
