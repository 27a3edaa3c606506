package sandbox_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/release-bot/release-bot/internal/sandbox/sandboxtest"
	"github.com/release-bot/release-bot/internal/slackbot/slacktest"
)

// TestPageInChromium plays the bot's part through slack-go against the fake
// and checks, in a real headless Chromium, what a person sees and what
// their typing and clicking send back.
func TestPageInChromium(t *testing.T) {
	e, got := start(t, true)
	parent := e.post(t, slack.MsgOptionText("Release prod-7", false), slack.MsgOptionBlocks(releaseBlocks("Release prod-7 · prod: aws-beta → aws-prod")...))
	e.post(t, slack.MsgOptionText(":ballot_box_with_check: <@"+bob+"> approved (1 of 2)", false), slack.MsgOptionTS(parent))
	status := e.post(t, slack.MsgOptionText(":hourglass: Checking the environments…", false))
	if _, err := e.api.PostEphemeral(channelID, bob, slack.MsgOptionText(":no_entry: You already approved prod-7.", false)); err != nil {
		t.Fatal(err)
	}
	// Text a person could have typed: Slack escapes it, and a careless
	// bot might not; neither may become markup.
	e.post(t, slack.MsgOptionText("x", false), slack.MsgOptionBlocks(
		slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, `<img src=x onerror="window.pwned=1">`, false, false)),
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "reason: &lt;script&gt;window.pwned=2&lt;/script&gt; and <script>window.pwned=3</script> *<b>not bold markup</b>*", false, false), nil, nil),
	))

	b := sandboxtest.NewBrowser(t)
	b.Open(e.page + "?user=" + alice)

	// The blocks, rendered.
	b.WaitText("Release prod-7 · prod: aws-beta → aws-prod")
	for _, want := range []string{
		"⌛ Waiting for approval (0 of 2)", "proposed by @alice", "✅ aws-beta", "@release-managers", "@carol",
		"expires 2026-01-01 00:00 UTC.", "Pipeline", "bob approved (1 of 2)", "⌛ Checking the environments…",
	} {
		if !b.HasText(want) {
			t.Errorf("the page does not show %q", want)
		}
	}
	if n := sandboxtest.Eval[int](b, `document.querySelectorAll(".b-header, .b-context, .b-fields, hr.b-divider, .b-actions").length`); n < 5 {
		t.Errorf("%d header/context/fields/divider/actions blocks rendered", n)
	}
	link := sandboxtest.Eval[map[string]string](b, `(() => { const a = [...document.querySelectorAll("#channel a")].find(a => a.textContent === "compare");
		return a ? {href: a.href, target: a.target, rel: a.rel} : {}; })()`)
	if link["href"] != "https://github.com/cyber-dojo/web/compare/1a2b3c4...5d6e7f8" || link["target"] != "_blank" || !strings.Contains(link["rel"], "noopener") {
		t.Errorf("the compare link: %v", link)
	}
	if code := sandboxtest.Eval[string](b, `(document.querySelector("#channel a code") || {}).textContent || ""`); code != "5d6e7f8" {
		t.Errorf("the commit link's label is not code: %q", code)
	}
	buttons := sandboxtest.Eval[[]string](b, `[...document.querySelectorAll(".msg[data-ts='`+parent+`'] .b-actions button")].map(x => x.textContent + ":" + x.className)`)
	if strings.Join(buttons, " ") != "Approve:btn primary Reject:btn danger" {
		t.Errorf("buttons: %v", buttons)
	}
	// The thread reply hangs under its parent.
	if in := sandboxtest.Eval[bool](b, `!!document.querySelector(".thread[data-parent='`+parent+`'] .msg.reply")`); !in {
		t.Error("the reply is not in the parent's thread")
	}
	// Nothing from message text became markup.
	b.WaitText(`<img src=x onerror="window.pwned=1">`)
	for _, want := range []string{"reason: <script>window.pwned=2</script> and <script>window.pwned=3</script>", "<b>not bold markup</b>"} {
		if !b.HasText(want) {
			t.Errorf("the page does not show %q as text", want)
		}
	}
	if n := sandboxtest.Eval[int](b, `document.querySelectorAll("#channel script, #channel img, #channel b b").length + (window.pwned ? 100 : 0)`); n != 0 {
		t.Errorf("message text became markup (%d elements, or a script ran)", n)
	}

	// Ephemerals: bob's is his alone.
	if b.HasText("You already approved prod-7.") {
		t.Error("alice sees bob's ephemeral")
	}
	b.ActAs(bob)
	b.WaitText("⛔ You already approved prod-7.")
	if !b.HasText("Only visible to you") {
		t.Error("bob's ephemeral is not marked as his alone")
	}

	// Live: an update lands in place, a new message and a reply appear.
	if _, _, _, err := e.api.UpdateMessage(channelID, status, slack.MsgOptionText(":rocket: Deploying", false)); err != nil {
		t.Fatal(err)
	}
	b.WaitText("🚀 Deploying")
	if got := sandboxtest.Eval[string](b, `[...document.querySelectorAll(".msg[data-ts='`+status+`']")].map(m => m.innerText).join("|")`); strings.Count(got, "|") != 0 ||
		!strings.Contains(got, "(edited)") || strings.Contains(got, "Checking") {
		t.Errorf("the update is not in place: %q", got)
	}
	e.post(t, slack.MsgOptionText(":tada: carol approved (2 of 2)", false), slack.MsgOptionTS(parent))
	b.WaitText("🎉 carol approved (2 of 2)")
	if n := sandboxtest.Eval[int](b, `document.querySelectorAll(".thread[data-parent='`+parent+`'] .msg").length`); n != 2 {
		t.Errorf("%d replies in the thread, want 2", n)
	}

	// SANDBOX_SCREENSHOT=/tmp/sandbox.png saves how the page looks, and
	// /tmp/sandbox-dialog.png with the bot's dialog open.
	shot := os.Getenv("SANDBOX_SCREENSHOT")
	if shot != "" {
		b.Screenshot(shot)
	}

	// The command box: a slash command as the selected user.
	b.Command("/release diff")
	if cmd := slashCommand(t, e, next(t, got)); cmd.UserID != bob || cmd.Command != "/release" || cmd.Text != "diff" || cmd.ChannelID != channelID {
		t.Errorf("the command the bot got: %+v", cmd)
	}

	// Approve as carol: the confirm dialog, then the click with her id.
	b.ActAs(carol)
	b.Click("Release prod-7", "Approve")
	if text := b.ConfirmText(); !strings.Contains(text, "Approve prod-7?") || !strings.Contains(text, "You approve exactly manifest sha256:abc.") {
		t.Errorf("the confirm dialog says %q", text)
	}
	b.Confirm(false)
	b.Press("Release prod-7", "Approve")
	cb := interaction(t, envelopeOf(t, e, next(t, got)))
	if a := cb.ActionCallback.BlockActions; cb.User.ID != carol || cb.Container.MessageTs != parent || len(a) != 1 ||
		a[0].ActionID != "release_approve" || a[0].Value != "prod-7 sha256:abc" || a[0].BlockID != "release:prod-7:v1" {
		t.Errorf("the click the bot got: user %s ts %s actions %+v", cb.User.ID, cb.Container.MessageTs, a)
	}

	// Reject as carol: the bot opens its dialog, the page shows it, and
	// the reason comes back as a view_submission.
	b.Press("Release prod-7", "Reject")
	click := interaction(t, envelopeOf(t, e, next(t, got)))
	if _, err := e.api.OpenView(click.TriggerID, rejectDialog()); err != nil {
		t.Fatal(err)
	}
	if text := b.DialogText(); !strings.Contains(text, "Reject release") || !strings.Contains(text, "Reason") {
		t.Errorf("the dialog says %q", text)
	}
	if shot != "" {
		b.Screenshot(strings.TrimSuffix(shot, ".png") + "-dialog.png")
	}
	b.SubmitDialog("web is not ready")
	sub := interaction(t, envelopeOf(t, e, next(t, got)))
	if sub.Type != slack.InteractionTypeViewSubmission || sub.User.ID != carol || sub.View.CallbackID != "release_reject_reason" ||
		sub.View.State.Values["reason"]["reason"].Value != "web is not ready" {
		t.Errorf("the submission the bot got: %+v", sub)
	}
}

// TestMrkdwnInChromium checks the page's mrkdwn renderer, case by case.
func TestMrkdwnInChromium(t *testing.T) {
	e, _ := start(t, false)
	b := sandboxtest.NewBrowser(t)
	b.Open(e.page + "?user=" + alice)
	for _, c := range []struct{ in, want string }{
		{"*bold* _italic_ ~gone~ `code`", "<b>bold</b> <i>italic</i> <s>gone</s> <code>code</code>"},
		{"```line 1\n<b>2</b>```", "<pre>line 1\n&lt;b&gt;2&lt;/b&gt;</pre>"},
		{"<https://x.test/a?b=1&amp;c=2|the *label*>", `<a href="https://x.test/a?b=1&amp;c=2" target="_blank" rel="noopener noreferrer">the <b>label</b></a>`},
		{"<https://x.test/p>", `<a href="https://x.test/p" target="_blank" rel="noopener noreferrer">https://x.test/p</a>`},
		{"<javascript:alert(1)|click>", "&lt;javascript:alert(1)|click&gt;"},
		{`<https://x.test/"onmouseover="alert(1)|q>`, `<a href="https://x.test/&quot;onmouseover=&quot;alert(1)" target="_blank" rel="noopener noreferrer">q</a>`},
		{"<@U0BOB> <@U0NOBODY> <@U0RELEASEBOT>", `<span class="mention">@bob</span> <span class="mention">@U0NOBODY</span> <span class="mention">@release-bot</span>`},
		{"<#C0RELEASES> <#C0OTHER|ops>", `<span class="mention">#releases</span> <span class="mention">#ops</span>`},
		{"<!subteam^S0RM|@release-managers> <!here>", `<span class="mention">@release-managers</span> <span class="mention">@here</span>`},
		{"<!date^1767225600^{date_short_pretty}|Jan 1st>", "Jan 1st"},
		{":white_check_mark: :x: :no_entry: :warning: :hourglass: :rocket: :tada: :new: :wave: :shield: :receipt: :ballot_box_with_check: :gear: :made_up:",
			"✅ ❌ ⛔ ⚠️ ⌛ 🚀 🎉 🆕 👋 🛡️ 🧾 ☑️ ⚙️ :made_up:"},
		{"snake_case_name and 2*3*4 and 10:30:00", "snake_case_name and 2*3*4 and 10:30:00"},
		{"a &lt;tag&gt; &amp; <b>raw</b> \"q\" 'a'", "a &lt;tag&gt; &amp; &lt;b&gt;raw&lt;/b&gt; &quot;q&quot; &#39;a&#39;"},
		{"`<https://x.test|in code>`", `<code><a href="https://x.test" target="_blank" rel="noopener noreferrer">in code</a></code>`},
		{"line 1\nline 2", "line 1<br>line 2"},
		{"\u0000" + "0\u0000 hole", "0 hole"},
	} {
		got := sandboxtest.Eval[string](b, "sandbox.mrkdwn("+jsString(c.in)+")")
		if got != c.want {
			t.Errorf("mrkdwn(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

// jsString quotes s for JavaScript (JSON is a subset).
func jsString(s string) string {
	return string(mustJSON(s))
}

// mustJSON marshals v, which cannot fail for the values the tests use.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// envelopeOf is the fake's record of what the bot received.
func envelopeOf(t *testing.T, e *env, ev socketmode.Event) slacktest.Envelope {
	t.Helper()
	env, ok := e.fake.Envelope(ev.Request.EnvelopeID)
	if !ok {
		t.Fatalf("the fake has no record of envelope %q", ev.Request.EnvelopeID)
	}
	return env
}

// slashCommand decodes the slash command envelope the bot received.
func slashCommand(t *testing.T, e *env, ev socketmode.Event) slack.SlashCommand {
	t.Helper()
	env := envelopeOf(t, e, ev)
	if env.Type != "slash_commands" {
		t.Fatalf("envelope type %q, want slash_commands", env.Type)
	}
	var cmd slack.SlashCommand
	if err := json.Unmarshal(env.Payload, &cmd); err != nil {
		t.Fatal(err)
	}
	return cmd
}
