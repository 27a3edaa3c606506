package slacktest_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/release-bot/release-bot/internal/slackbot/slacktest"
)

func homeView(n int) slack.HomeTabViewRequest {
	blocks := make([]slack.Block, n)
	for i := range blocks {
		blocks[i] = slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, fmt.Sprintf("release %d", i), false, false), nil, nil)
	}
	return slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: blocks}}
}

// TestViewsPublishKeepsAUsersHomeWithinSlacksLimits: 100 blocks publish
// and 101 do not (invalid_blocks); a stale hash is refused with
// hash_conflict; the Home tab keeps its view id; a modal type is refused.
func TestViewsPublishKeepsAUsersHomeWithinSlacksLimits(t *testing.T) {
	fake := newFake(t, slacktest.Options{})
	api := newAPI(fake)
	ctx := ctxT(t)
	first, err := api.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: alice, View: homeView(100)})
	if err != nil {
		t.Fatalf("100 blocks: %v", err)
	}
	if _, err := api.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: alice, View: homeView(101)}); err == nil || !strings.Contains(err.Error(), "invalid_blocks") {
		t.Errorf("101 blocks: %v, want invalid_blocks", err)
	}
	hash := first.Hash
	second, err := api.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: alice, View: homeView(1), Hash: &hash})
	if err != nil || second.ID != first.ID {
		t.Fatalf("republish with the current hash: %v, id %s then %s", err, first.ID, second.ID)
	}
	if _, err := api.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: alice, View: homeView(2), Hash: &hash}); err == nil || !strings.Contains(err.Error(), "hash_conflict") {
		t.Errorf("stale hash: %v, want hash_conflict", err)
	}
	modal := homeView(1)
	modal.Type = slack.VTModal
	if _, err := api.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: alice, View: modal}); err == nil || !strings.Contains(err.Error(), "invalid_arguments") {
		t.Errorf("a modal published: %v, want invalid_arguments", err)
	}
	v, ok := fake.Home(alice)
	if !ok || !strings.Contains(string(v.View), "release 0") || strings.Contains(string(v.View), "release 1") {
		t.Errorf("home after the refusals: %s", v.View)
	}
	if _, err := newAPI(newFake(t, slacktest.Options{NoHomeTab: true})).PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: alice, View: homeView(1)}); err == nil || !strings.Contains(err.Error(), "not_enabled") {
		t.Errorf("home tab disabled: %v, want not_enabled", err)
	}
}
