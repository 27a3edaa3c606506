package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/release-bot/release-bot/internal/slackbot/slacktest"
)

// TestServeDiffMoreHintIsACommandThatWorks: a diff too long for Slack ends
// with "…and N more. The whole list: `bot plan …`"; that command, run where
// the bot runs (KOSLI_HOST, KOSLI_ORG, KOSLI_API_TOKEN set), prints the plan.
func TestServeDiffMoreHintIsACommandThatWorks(t *testing.T) {
	t.Parallel()
	b := startBot(t, "gen:1500")
	b.command(alice, releaseChannel, "diff")
	hint := regexp.MustCompile("…and [0-9]+ more\\. The whole list: `(bot plan [^`]+)`")
	count := regexp.MustCompile(`\*([0-9]+) to promote\*`)
	var cmd, promote string
	b.waitFor("the diff's last message", func(st *slacktest.State) bool {
		for _, m := range channelMessages(st) {
			text := blocksText(t, m.Blocks)
			if g := count.FindStringSubmatch(text); g != nil {
				promote = g[1]
			}
			if g := hint.FindStringSubmatch(text); g != nil {
				cmd = g[1]
			}
		}
		return cmd != "" && promote != ""
	})
	args := strings.Fields(cmd)
	got := runCLI(t, "", kosliEnv(b.kosli.URL()), args[1:]...)
	if got.code != exitOK || !strings.Contains(got.stdout, ": "+promote+" to promote") {
		t.Fatalf("`%s`: exit %d\nstdout:\n%.300s\nstderr:\n%s", cmd, got.code, got.stdout, got.stder)
	}
}
