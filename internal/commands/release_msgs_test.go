package commands_test

import (
	"context"
	"strings"
	"testing"

	"github.com/release-bot/release-bot/internal/release"
)

// TestReplyGoesOutAfterShutdownBegins: a reply tells of a change already
// made in Redis, so it is sent even when its context was cancelled (a
// replica stopping just after it ended a release), and nothing is logged
// as failed.
func TestReplyGoesOutAfterShutdownBegins(t *testing.T) {
	e := newDriftEnv(t, "2")
	parent, err := e.api.PostMessage(context.Background(), driftChannel, "", "Release prod-2026-11-24-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := &release.Release{ID: "prod-2026-11-24-1", Channel: driftChannel, MessageTS: parent}
	e.h.Reply(ctx, r, ":tada: *Release succeeded*")
	if th := e.slack.Thread(driftChannel, parent); len(th) != 1 || !strings.Contains(th[0].Text, "Release succeeded") {
		t.Errorf("thread after shutdown began: %+v, want the one reply", th)
	}
	if strings.Contains(e.logs.String(), "thread reply failed") {
		t.Errorf("logged as failed:\n%s", e.logs.String())
	}
}
