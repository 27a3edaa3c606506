package slackbot_test

import (
	"context"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/release-bot/release-bot/internal/slackbot/slacktest"
)

// panicking is a handler with a bug in its slash commands.
type panicking struct{ commands }

func (p *panicking) Command(context.Context, slack.SlashCommand) { panic("a bug in the handler") }

// TestAPanickingHandlerIsLoggedWithItsStack: the worker survives a handler's
// panic, and its log line carries the stack that says where the bug is.
func TestAPanickingHandlerIsLoggedWithItsStack(t *testing.T) {
	fake := slacktest.Start(t, slacktest.Options{})
	fake.AddChannel("C0RELEASES", "releases")
	fake.AddUser(slacktest.User{ID: "U0ALICE", Name: "alice"})
	o := fake.Options()
	api := slack.New(o.BotToken, slack.OptionAPIURL(fake.APIURL()), slack.OptionAppLevelToken(o.AppToken))
	loop, log, _ := runLoop(t, api, &panicking{})
	if !eventually(loop.Connected) {
		t.Fatal("never connected")
	}
	if _, err := fake.SlashCommand(slacktest.SlashCommand{ChannelID: "C0RELEASES", UserID: "U0ALICE", Text: "diff prod"}); err != nil {
		t.Fatal(err)
	}
	var line map[string]any
	if !eventually(func() bool {
		var ok bool
		line, ok = findLine(t, log, map[string]any{"message": "handler panicked"})
		return ok
	}) {
		t.Fatalf("no panic logged:\n%s", log)
	}
	stack, _ := line["stack"].(string)
	if line["panic"] != "a bug in the handler" || !strings.Contains(stack, "panic_test.go:") {
		t.Errorf("panic line without the stack of the bug: %v", line)
	}
}
