package commands

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/release/releasetest"
	"github.com/release-bot/release-bot/internal/slackbot/slacktest"
)

// hostile is text from outside (Kosli flow names, reasons, failures) crafted
// to break markup or ping a channel.
var hostile = []string{"<!channel>", "<https://evil.example|click>", "&amp; & ;", "*bold", "`tick", ":fire::fire:", strings.Repeat("<", 40)}

// bigRelease is a release of n artifacts with service names of nameLen
// characters, every third one refused by the gate with hostile failures.
func bigRelease(t *testing.T, n, nameLen int) ReleaseView {
	t.Helper()
	p := release.Compute(releasetest.GenerateChangedDiff(n), release.PlanOptions{Links: testLinks, Now: testNow})
	m, err := release.NewManifest(&p, release.ManifestMeta{ReleaseID: "prod-2026-11-24-1", Pipeline: "prod", CreatedAt: testNow,
		ProposerID: "U0PAT000001", ProposerName: "Pat", Evidence: release.Evidence{Flow: "prod-release", Trail: "prod-2026-11-24-1",
			URL: testLinks.Trail("prod-release", "prod-2026-11-24-1")}})
	if err != nil {
		t.Fatal(err)
	}
	gate := &release.Gate{Mode: release.GateEnforce}
	for i := range m.Artifacts {
		a := &m.Artifacts[i]
		name := fmt.Sprintf("%s-%05d-", hostile[i%len(hostile)], i)
		a.Service = name + strings.Repeat("x", max(0, nameLen-len([]rune(name))))
		fp := strings.TrimPrefix(a.Digest, "sha256:")
		c := release.Compliance{Fingerprint: fp, Environment: "aws-prod", Compliant: i%3 != 0}
		if !c.Compliant {
			c.Failures = []string{"prod-policy: " + hostile[(i+1)%len(hostile)], "prod-policy: snyk-scan"}
		}
		gate.Results = append(gate.Results, release.Compliance{Fingerprint: fp, Environment: "aws-beta", Compliant: true}, c)
	}
	r := &release.Release{ID: m.ReleaseID, Pipeline: "prod", State: release.Proposed, Required: 2, Proposer: "U0PAT000001",
		ManifestDigest: m.SealedDigest, Gate: gate, Version: 1, ExpiresAt: testNow.Add(24 * time.Hour),
		Evidence: &release.Evidence{Flow: "prod-release", Trail: m.ReleaseID, URL: m.Evidence.TrailURL, Items: reportRecorded}}
	return ReleaseView{Release: r, Manifest: m, Rule: "2 approvals from @release-managers", Now: testNow}
}

// A release's parent message, in every state it is refreshed to, is posted
// and updated through the fake Slack, which refuses a message whose blocks
// hold more than 12,000 characters of text (msg_blocks_too_long,
// slackapi/bolt-js#2509 and #2867). Before the budget, 40 artifacts made 14.5k.
func TestReleaseMessageFitsSlackAtAnySize(t *testing.T) {
	fake := slacktest.Start(t, slacktest.Options{})
	fake.AddChannel("C0RELEASE01", "releases")
	api := slack.New(fake.Options().BotToken, slack.OptionAPIURL(fake.APIURL()))
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()

	for _, c := range []struct{ n, nameLen int }{{5, 20}, {30, 20}, {60, 98}, {200, 20}, {200, 98}} {
		t.Run(fmt.Sprintf("%d-services-%d-char-names", c.n, c.nameLen), func(t *testing.T) {
			v := bigRelease(t, c.n, c.nameLen)
			post := func(v ReleaseView) (string, Message) {
				msg := ReleaseMessage(v)
				checkLimits(t, []Message{msg})
				_, ts, err := api.PostMessageContext(ctx, "C0RELEASE01", slack.MsgOptionText(msg.Text, false), slack.MsgOptionBlocks(msg.Blocks...))
				if err != nil {
					t.Fatalf("posting the release message (state %s): %v", v.Release.State, err)
				}
				return ts, msg
			}
			ts, msg := post(v)
			text := allText(msg)
			largest := len(text)

			shown := 0
			for _, a := range v.Manifest.Artifacts {
				if strings.Contains(text, "*"+esc(a.Service)+"*") {
					shown++
				}
			}
			if shown == len(v.Manifest.Artifacts) {
				if strings.Contains(text, "more artifact") {
					t.Error("every artifact is shown, yet the message says there are more")
				}
			} else {
				more := fmt.Sprintf("…and %d more artifact(s) (the whole manifest is on <%s|Kosli trail %s>)",
					len(v.Manifest.Artifacts)-shown, v.Manifest.Evidence.TrailURL, v.Manifest.Evidence.KosliTrail)
				if !strings.Contains(text, more) {
					t.Errorf("%d of %d artifacts shown and no %q line", shown, len(v.Manifest.Artifacts), more)
				}
				if shown < 25 {
					t.Errorf("only %d artifacts shown", shown)
				}
				// The refused artifacts are what approvers must see: they come first.
				for i := 0; i < len(v.Manifest.Artifacts) && i/3 < shown; i += 3 {
					if !strings.Contains(text, "*"+esc(v.Manifest.Artifacts[i].Service)+"*") {
						t.Errorf("refused artifact %d is not shown while %d are", i, shown)
						break
					}
				}
			}
			if strings.Contains(text, "<!channel>") || strings.Contains(text, "<https://evil.example") {
				t.Error("hostile text reached the message unescaped")
			}

			// Every refresh stays within the budget too.
			for _, step := range []func(r *release.Release){
				func(r *release.Release) {
					r.Approvals = []release.Approval{{UserID: "U0ALEX00001", At: testNow}, {UserID: "U0SAM000001", At: testNow}}
					r.State = release.Deploying
					r.Run = &release.Run{ID: 42, HTMLURL: "https://github.com/cyber-dojo/live/actions/runs/42", Status: "in_progress"}
				},
				func(r *release.Release) {
					r.State = release.Rejected
					r.Rejection = &release.Decision{UserID: "U0SAM000001", Reason: strings.Repeat("<!channel> ", 500)}
				},
			} {
				step(v.Release)
				msg := ReleaseMessage(v)
				checkLimits(t, []Message{msg})
				if _, _, _, err := api.UpdateMessageContext(ctx, "C0RELEASE01", ts, slack.MsgOptionText(msg.Text, false), slack.MsgOptionBlocks(msg.Blocks...)); err != nil {
					t.Fatalf("refreshing the release message (state %s): %v", v.Release.State, err)
				}
				largest = max(largest, len(allText(msg)))
			}
			t.Logf("%d artifacts, %d-character names: %d shown, largest message %d characters of block text", c.n, c.nameLen, shown, largest)
		})
	}
}

// allText joins the text of every block, as the fake Slack counts it.
func allText(m Message) string {
	var b strings.Builder
	for _, bl := range m.Blocks {
		switch v := bl.(type) {
		case *slack.SectionBlock:
			if v.Text != nil {
				b.WriteString(v.Text.Text + "\n")
			}
		case *slack.HeaderBlock:
			b.WriteString(v.Text.Text + "\n")
		case *slack.ContextBlock:
			for _, e := range v.ContextElements.Elements {
				if t, ok := e.(*slack.TextBlockObject); ok {
					b.WriteString(t.Text + "\n")
				}
			}
		}
	}
	return b.String()
}

func TestTruncateNeverCutsMarkup(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"see <https://example.com/a/very/long/path|the run> now", "see …"},
		{"a b c &lt;!channel&gt; b", "a b c …"},
		{"x *bold text* y", "x …"},
		{"x `code here` y", "x …"},
		{"plain words that go on", "plain wor…"},
		{"a & b and more words", "a & b and…"},
	} {
		if got := truncate(c.in, 10); got != c.want {
			t.Errorf("truncate(%q, 10) = %q; want %q", c.in, got, c.want)
		}
	}
}

// The fallback text goes into notifications, where <!channel> pings: a flow
// name from Kosli is escaped there as in the blocks.
func TestFallbackTextIsEscaped(t *testing.T) {
	p := generatedPlan(3)
	p.Promotions[0].Service = "<!channel>"
	for _, m := range DiffMessages(DiffView{Pipeline: "prod", Plan: &p, Links: testLinks}) {
		if strings.Contains(m.Text, "<!channel>") || !strings.Contains(m.Text, "&lt;!channel&gt;") {
			t.Errorf("diff fallback = %q", m.Text)
		}
	}
	v := bigRelease(t, 3, 20)
	v.Release.Pipeline = "<!here>"
	if m := ReleaseMessage(v); strings.Contains(m.Text, "<!here>") {
		t.Errorf("release fallback = %q", m.Text)
	}
	d := driftView(&p)
	d.Pipeline = "<!here>"
	if m, _ := DriftMessage(d); strings.Contains(m.Text, "<!here>") {
		t.Errorf("drift fallback = %q", m.Text)
	}
}

// One click cannot end a release: Reject asks first, as Approve does.
func TestReleaseMessageRejectAsksFirst(t *testing.T) {
	msg := ReleaseMessage(bigRelease(t, 3, 20))
	for _, b := range msg.Blocks {
		if a, ok := b.(*slack.ActionBlock); ok {
			for _, e := range a.Elements.ElementSet {
				if btn, ok := e.(*slack.ButtonBlockElement); ok && btn.ActionID == ActionReject {
					if btn.Confirm == nil || btn.Confirm.Style != slack.StyleDanger {
						t.Fatalf("Reject button has no danger confirm: %+v", btn.Confirm)
					}
					return
				}
			}
		}
	}
	t.Fatal("no Reject button")
}

// The diff's "…and N more" hint is a command that runs as written: it names
// the org, which `bot plan --from/--to` needs to ask Kosli.
func TestDiffMoreHintNamesTheOrg(t *testing.T) {
	p := generatedPlan(1500)
	msgs := DiffMessages(DiffView{Pipeline: "prod", Plan: &p, Links: testLinks})
	last := allText(msgs[len(msgs)-1])
	if !strings.Contains(last, "The whole list: `bot plan --org cyber-dojo --from aws-beta --to aws-prod`.") {
		t.Errorf("last diff message has no runnable hint:\n%s", last[max(0, len(last)-300):])
	}
}

// reportRecorded is the outbox of a release whose trail and manifest Kosli has.
var reportRecorded = []release.EvidenceItem{{ID: "report", Kind: release.EvidenceReport, Status: release.EvidenceRecorded}}
