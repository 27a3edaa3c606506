package slackbot_test

import (
	"net/http"
	"strings"
	"testing"

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
