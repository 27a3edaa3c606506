package commands_test

import (
	"context"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/release-bot/release-bot/internal/commands"
	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/slackbot"
	"github.com/release-bot/release-bot/internal/slackbot/slacktest"
)

const (
	rejectProposer = "U0ALICE0001"
	rejectApprover = "U0CAROL0001"
)

// newRejectEnv is a drift env whose handler can open dialogs and look people
// up, with one proposed release.
func newRejectEnv(t *testing.T) (*driftEnv, *release.Release) {
	t.Helper()
	e := newDriftEnv(t, "2", func(d *commands.Deps) {
		api := d.Slack.(*slackbot.API)
		d.Views, d.People = api, api
	})
	e.slack.AddUser(slacktest.User{ID: rejectProposer, Name: "alice"})
	e.slack.AddUser(slacktest.User{ID: rejectApprover, Name: "carol"})
	e.h.Command(context.Background(), slack.SlashCommand{TeamID: "T0SLACKTEST", ChannelID: driftChannel, UserID: rejectProposer, Command: "/release", Text: "propose"})
	r, err := e.store.Active(context.Background(), "prod")
	if err != nil || r == nil || r.MessageTS == "" {
		t.Fatalf("no proposed release: %v, %+v", err, r)
	}
	return e, r
}

// rejectSubmission is the view_submission of the reject dialog for r.
func rejectSubmission(r *release.Release, user, reason string) slack.InteractionCallback {
	var cb slack.InteractionCallback
	cb.Type = slack.InteractionTypeViewSubmission
	cb.User.ID, cb.Team.ID = user, "T0SLACKTEST"
	cb.View.ID, cb.View.Hash, cb.View.CallbackID = "V0DIALOG01", "h1", commands.CallbackReject
	cb.View.PrivateMetadata = r.ID + " " + r.ManifestDigest
	cb.View.State = &slack.ViewState{Values: map[string]map[string]slack.BlockAction{"reason": {"reason": {Type: "plain_text_input", Value: reason}}}}
	return cb
}

func (e *driftEnv) threadText(r *release.Release) string {
	var b strings.Builder
	for _, m := range e.slack.Thread(driftChannel, r.MessageTS) {
		b.WriteString(m.Text + "\n")
	}
	return b.String()
}

// TestRejectDialogWithoutAReasonStaysOpenAndChangesNothing: a blank reason
// is answered with errors on the reason block; the release stays proposed.
func TestRejectDialogWithoutAReasonStaysOpenAndChangesNothing(t *testing.T) {
	for _, reason := range []string{"", "   \n\t "} {
		e, r := newRejectEnv(t)
		cb := rejectSubmission(r, rejectApprover, reason)
		ack := commands.SubmissionAck(cb)
		if ack == nil || ack.ResponseAction != slack.RAErrors || ack.Errors["reason"] == "" {
			t.Fatalf("reason %q: ack = %+v, want errors naming the reason block", reason, ack)
		}
		e.h.Interaction(context.Background(), cb)
		got, err := e.store.Get(context.Background(), r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != release.Proposed || got.Rejection != nil {
			t.Errorf("reason %q: release is %s after a blank rejection", reason, got.State.Label())
		}
		if text := e.threadText(r); strings.Contains(text, "rejected") {
			t.Errorf("reason %q: thread says %q", reason, text)
		}
	}
}

func TestRejectDialogWithAReasonRejects(t *testing.T) {
	e, r := newRejectEnv(t)
	cb := rejectSubmission(r, rejectApprover, "  web is not ready ")
	if ack := commands.SubmissionAck(cb); ack != nil {
		t.Fatalf("ack = %+v, want none", ack)
	}
	e.h.Interaction(context.Background(), cb)
	if text := e.threadText(r); !strings.Contains(text, "rejected the release: web is not ready") {
		t.Errorf("thread: %q", text)
	}
}

// TestRejectReasonIsCutBeforeItIsEscaped: a reason is cut to 2,000 runes
// of what was typed, and the thread line is cut, counted before escaping,
// to fit a section without splitting an entity.
func TestRejectReasonIsCutBeforeItIsEscaped(t *testing.T) {
	e, r := newRejectEnv(t)
	reason := strings.Repeat("a&", 1000) + "TAIL"
	e.h.Interaction(context.Background(), rejectSubmission(r, rejectApprover, reason))
	got, err := e.store.Get(context.Background(), r.ID)
	if err != nil || got.Rejection == nil || len([]rune(got.Rejection.Reason)) != 2000 || strings.Contains(got.Rejection.Reason, "TAIL") {
		t.Fatalf("stored reason: %+v, %v", got.Rejection, err)
	}
	var line string
	for _, m := range e.slack.Thread(driftChannel, r.MessageTS) {
		if strings.Contains(m.Text, "rejected the release") {
			line = m.Text
		}
	}
	body, ok := strings.CutSuffix(line, "…")
	if n := len([]rune(line)); !ok || n > 3000 || n < 2900 || strings.Count(body, "&") != strings.Count(body, "&amp;") {
		t.Errorf("rejection line (%d runes) is not cut at an entity's end within 3,000: …%s", n, line[max(0, len(line)-80):])
	}
}
