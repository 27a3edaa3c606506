package slackbot_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/release-bot/release-bot/internal/slackbot/slacktest"
)

// TestAPIOpenDMOnceThenPost: OpenDM asks conversations.open once per user
// (a DM's id never changes) and is retried after a 5xx, since opening is
// safe to repeat; a message posted to it lands in the user's DM; Permalink
// links an existing message and fails for a missing one.
func TestAPIOpenDMOnceThenPost(t *testing.T) {
	fake := slacktest.Start(t, slacktest.Options{})
	fake.AddChannel("C0RELEASES", "releases")
	fake.AddUser(slacktest.User{ID: "U0ALICE", Name: "alice"})
	rec := &requests{}
	api := newAPI(t, fake, rec)
	ctx := t.Context()

	fake.Fail("conversations.open", 1, http.StatusBadGateway)
	dm, err := api.OpenDM(ctx, "U0ALICE")
	if err != nil || !strings.HasPrefix(dm, "D") {
		t.Fatalf("OpenDM = %q, %v", dm, err)
	}
	if again, err := api.OpenDM(ctx, "U0ALICE"); err != nil || again != dm {
		t.Errorf("OpenDM again = %q, %v", again, err)
	}
	if n := len(fake.Calls("conversations.open")); n != 2 {
		t.Errorf("conversations.open sent %d times, want 2 (a 502, then once; the second OpenDM is cached)", n)
	}
	if _, err := api.PostMessage(ctx, dm, "", "a release waits", nil); err != nil {
		t.Fatal(err)
	}
	if dms := fake.DMs("U0ALICE"); len(dms) != 1 || dms[0].Text != "a release waits" {
		t.Errorf("DMs = %+v", dms)
	}
	if _, err := api.OpenDM(ctx, "U0NOBODY"); err == nil || !strings.Contains(err.Error(), "user_not_found") {
		t.Errorf("OpenDM of nobody: %v", err)
	}

	ts, err := api.PostMessage(ctx, "C0RELEASES", "", "Release 42", nil)
	if err != nil {
		t.Fatal(err)
	}
	if link, err := api.Permalink(ctx, "C0RELEASES", ts); err != nil || link != fake.Permalink("C0RELEASES", ts) || link == "" {
		t.Errorf("Permalink = %q, %v", link, err)
	}
	if _, err := api.Permalink(ctx, "C0RELEASES", "1.000001"); err == nil || !strings.Contains(err.Error(), "message_not_found") {
		t.Errorf("Permalink of no message: %v", err)
	}
	for _, r := range rec.list() {
		if strings.HasPrefix(r, "other ") {
			t.Errorf("a request observed as %q: Methods() lacks it", r)
		}
	}
}

// TestAPIPublishHomeRetriesAndIsObserved: PublishHome sets the user's Home
// tab, is retried after a 5xx (setting the same view twice is harmless)
// and is observed as views.publish; not_enabled (no Home tab in the app's
// settings) comes back as an error.
func TestAPIPublishHomeRetriesAndIsObserved(t *testing.T) {
	fake := slacktest.Start(t, slacktest.Options{})
	fake.AddUser(slacktest.User{ID: "U0ALICE", Name: "alice"})
	rec := &requests{}
	api := newAPI(t, fake, rec)
	view := slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: []slack.Block{
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "nothing waits for you", false, false), nil, nil),
	}}}
	fake.Fail("views.publish", 1, http.StatusBadGateway)
	if err := api.PublishHome(t.Context(), "U0ALICE", view); err != nil {
		t.Fatal(err)
	}
	if v, ok := fake.Home("U0ALICE"); !ok || !strings.Contains(string(v.View), "nothing waits for you") {
		t.Errorf("home = %s, %v", v.View, ok)
	}
	if n := len(fake.Calls("views.publish")); n != 2 {
		t.Errorf("views.publish sent %d times, want 2 (a 502, then once)", n)
	}
	for _, r := range rec.list() {
		if strings.HasPrefix(r, "other ") {
			t.Errorf("a request observed as %q: Methods() lacks it", r)
		}
	}
	off := slacktest.Start(t, slacktest.Options{NoHomeTab: true})
	off.AddUser(slacktest.User{ID: "U0ALICE", Name: "alice"})
	if err := newAPI(t, off, &requests{}).PublishHome(t.Context(), "U0ALICE", view); err == nil || !strings.Contains(err.Error(), "not_enabled") {
		t.Errorf("no Home tab: %v, want not_enabled", err)
	}
}
