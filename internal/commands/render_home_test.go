package commands

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/slackbot/slacktest"
)

// homeRelease is release n of pipeline p, proposed by proposer an hour
// before testNow plus n minutes, with a manifest of services.
func homeRelease(p string, n int, proposer string, state release.State, services ...string) HomeRelease {
	r := &release.Release{ID: fmt.Sprintf("%s-2026-11-24-%d", p, n), Pipeline: p, State: state, Version: 3, Required: 2,
		Proposer: proposer, CreatedAt: testNow.Add(-time.Hour + time.Duration(n)*time.Minute), Channel: "C0RELEASE01",
		MessageTS: fmt.Sprintf("1764000000.%06d", n), ManifestDigest: "sha256:" + strings.Repeat("5d", 32)}
	m := &release.Manifest{Source: release.EnvironmentSnapshot{Environment: "aws-beta"}, Target: release.EnvironmentSnapshot{Environment: "aws-prod"}}
	for _, s := range services {
		m.Artifacts = append(m.Artifacts, release.ManifestArtifact{Service: s})
	}
	return HomeRelease{Release: r, Manifest: m, Link: "https://slacktest.slack.com/archives/C0RELEASE01/p1764000000" + fmt.Sprintf("%06d", n)}
}

// TestHomeTabGolden: a Home with one release waiting (its entry and the
// message's own buttons), one proposed, recent releases in several
// outcomes and a click's notice; and an empty one.
func TestHomeTabGolden(t *testing.T) {
	waiting := homeRelease("prod", 1, "U0ALICE0001", release.Proposed, "web", "nginx", "<!channel>")
	waiting.Release.Approvals = []release.Approval{{UserID: "U0CAROL0001"}}
	proposed := homeRelease("stage", 2, "U0BOB000001", release.Proposed, "api")
	proposed.Link = ""
	done := homeRelease("prod", 0, "U0ALICE0001", release.Rejected).Release
	golden(t, "home-tab", HomeTab(HomeView{
		Waiting: []HomeRelease{waiting}, Proposed: []HomeRelease{proposed},
		Recent: []*release.Release{proposed.Release, waiting.Release, done},
		Notice: ":ballot_box_with_check: Your approval of `prod-2026-11-24-9` is counted.", Now: testNow,
	}))
	golden(t, "home-tab-empty", HomeTab(HomeView{Now: testNow}))
}

// TestHomeTabFitsSlackWithManyReleases: however many releases wait (0 to
// 200, with long service lists) and however many are proposed, the Home
// is published by the fake Slack, which refuses past 100 blocks as Slack
// does; block ids are unique; the waiting releases that do not fit are
// counted, oldest shown first.
func TestHomeTabFitsSlackWithManyReleases(t *testing.T) {
	fake := slacktest.Start(t, slacktest.Options{})
	fake.AddUser(slacktest.User{ID: "U0CAROL0001", Name: "carol"})
	api := slack.New(fake.Options().BotToken, slack.OptionAPIURL(fake.APIURL()))
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	services := make([]string, 40)
	for i := range services {
		services[i] = fmt.Sprintf("service-%02d-%s", i, strings.Repeat("x", 60))
	}
	for _, n := range []int{0, 1, 32, 33, 48, 50, 200} {
		t.Run(fmt.Sprintf("%d-waiting", n), func(t *testing.T) {
			var v HomeView
			v.Now = testNow
			for i := range n {
				v.Waiting = append(v.Waiting, homeRelease(fmt.Sprintf("p%03d", i), i, "U0ALICE0001", release.Proposed, services...))
				v.Recent = append(v.Recent, v.Waiting[i].Release)
			}
			for i := range min(n, 30) {
				v.Proposed = append(v.Proposed, homeRelease(fmt.Sprintf("q%03d", i), i, "U0CAROL0001", release.Proposed, services...))
			}
			v.Recent = v.Recent[:min(len(v.Recent), homeRecent)]
			v.Notice = "Release `p000-2026-11-24-0` is now cancelled."
			view := HomeTab(v)
			if _, err := api.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: "U0CAROL0001", View: view}); err != nil {
				t.Fatalf("%d blocks: %v", len(view.Blocks.BlockSet), err)
			}
			ids := map[string]bool{}
			buttons := 0
			for _, b := range view.Blocks.BlockSet {
				if id := blockID(b); id != "" {
					if ids[id] {
						t.Errorf("block id %s twice", id)
					}
					ids[id] = true
				}
				if _, ok := b.(*slack.ActionBlock); ok {
					buttons++
				}
			}
			text := allText(Message{Blocks: view.Blocks.BlockSet})
			switch {
			case buttons == n && strings.Contains(text, "more waiting"):
				t.Error("every release is shown, yet the Home says more wait")
			case buttons < n && !strings.Contains(text, fmt.Sprintf("…and %d more waiting for your decision", n-buttons)):
				t.Errorf("%d of %d shown, the rest not counted", buttons, n)
			case n >= 48 && buttons < 40:
				t.Errorf("only %d of %d waiting releases shown in %d blocks", buttons, n, len(view.Blocks.BlockSet))
			}
			if n > 0 && !strings.Contains(text, "p000-2026-11-24-0") {
				t.Error("the oldest waiting release is not shown")
			}
		})
	}
}

// blockID is a block's block_id, "" for one without.
func blockID(b slack.Block) string {
	switch v := b.(type) {
	case *slack.SectionBlock:
		return v.BlockID
	case *slack.ActionBlock:
		return v.BlockID
	case *slack.HeaderBlock:
		return v.BlockID
	case *slack.ContextBlock:
		return v.BlockID
	}
	return ""
}
