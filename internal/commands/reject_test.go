package commands_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

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

// told reports whether user was sent an ephemeral containing want.
func (e *driftEnv) told(user, want string) bool {
	for _, m := range e.slack.Ephemerals(driftChannel, user) {
		if strings.Contains(m.Text, want) {
			return true
		}
	}
	return false
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
		ack := e.h.ViewAck(cb)
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

// TestRejectReasonOfMoreThan500IsRefusedAndOf500IsShownEscaped: 501
// characters keep the dialog open and change nothing; 500 of markup are
// stored as typed and shown escaped in the thread, within one section.
func TestRejectReasonOfMoreThan500IsRefusedAndOf500IsShownEscaped(t *testing.T) {
	e, r := newRejectEnv(t)
	long := rejectSubmission(r, rejectApprover, strings.Repeat("a", 501))
	if ack := e.h.ViewAck(long); ack == nil || ack.ResponseAction != slack.RAErrors || !strings.Contains(ack.Errors["reason"], "500") {
		t.Fatalf("ack of 501 characters = %+v, want errors naming 500", ack)
	}
	e.h.Interaction(context.Background(), long)
	if got, err := e.store.Get(context.Background(), r.ID); err != nil || got.State != release.Proposed {
		t.Fatalf("release after a too-long reason: %+v, %v", got, err)
	}
	reason := "<!channel> *" + strings.Repeat("&", 481) + "* <@U1>"
	if n := len([]rune(reason)); n != 500 {
		t.Fatalf("test reason has %d characters", n)
	}
	e.h.Interaction(context.Background(), rejectSubmission(r, rejectApprover, reason))
	got, err := e.store.Get(context.Background(), r.ID)
	if err != nil || got.Rejection == nil || got.Rejection.Reason != reason {
		t.Fatalf("stored reason: %+v, %v", got.Rejection, err)
	}
	text := e.threadText(r)
	if !strings.Contains(text, "&lt;!channel&gt; *"+strings.Repeat("&amp;", 481)+"* &lt;@U1&gt;") || strings.Contains(text, "<!channel>") {
		t.Errorf("reason not shown escaped: %s", text)
	}
}

// click is the block_actions payload the fake builds for user clicking
// action on r's message: a real trigger_id and response_url.
func (e *driftEnv) click(t *testing.T, r *release.Release, user, action string) slack.InteractionCallback {
	t.Helper()
	id, err := e.slack.BlockAction(slacktest.BlockAction{UserID: user, ChannelID: driftChannel, MessageTS: r.MessageTS, ActionID: action})
	var cb slack.InteractionCallback
	e.payload(t, id, err, &cb)
	return cb
}

// payload decodes into v the payload of envelope id, which the fake built
// and sent (err is ErrNoConnection when no bot is connected to receive it).
func (e *driftEnv) payload(t *testing.T, id string, err error, v any) {
	t.Helper()
	if err != nil && !errors.Is(err, slacktest.ErrNoConnection) {
		t.Fatal(err)
	}
	env, ok := e.slack.Envelope(id)
	if !ok {
		t.Fatalf("no envelope %s", id)
	}
	if err := json.Unmarshal(env.Payload, v); err != nil {
		t.Fatal(err)
	}
}

// TestRejectClickOpensTheDialogBeforeSlowLookups: with users.info taking
// 3.5 s, longer than a trigger_id lives, the dialog still opens and the
// release is not rejected; the clicker's permission is checked on submit.
func TestRejectClickOpensTheDialogBeforeSlowLookups(t *testing.T) {
	e, r := newRejectEnv(t)
	e.slack.Delay("users.info", 3500*time.Millisecond)
	before := len(e.slack.Calls("users.info"))
	e.h.Interaction(context.Background(), e.click(t, r, rejectApprover, commands.ActionReject))
	if v := e.slack.Views(); len(v) != 1 {
		t.Fatalf("%d dialogs opened, want 1", len(v))
	}
	got, err := e.store.Get(context.Background(), r.ID)
	if err != nil || got.State != release.Proposed {
		t.Fatalf("release after the click: %+v, %v", got, err)
	}
	if n := len(e.slack.Calls("users.info")) - before; n != 0 {
		t.Errorf("users.info called %d times before the dialog was submitted", n)
	}
}

// TestRejectClickWhoseDialogFailsChangesNothing: when views.open fails (here
// a trigger_id Slack no longer accepts) the release stays proposed and the
// clicker is asked to try again.
func TestRejectClickWhoseDialogFailsChangesNothing(t *testing.T) {
	e, r := newRejectEnv(t)
	cb := e.click(t, r, rejectApprover, commands.ActionReject)
	cb.TriggerID = "expired.trigger"
	e.h.Interaction(context.Background(), cb)
	if calls := e.slack.Calls("views.open"); len(calls) != 1 || calls[0].Error != "invalid_trigger_id" {
		t.Fatalf("views.open calls: %+v", calls)
	}
	got, err := e.store.Get(context.Background(), r.ID)
	if err != nil || got.State != release.Proposed || got.Rejection != nil {
		t.Fatalf("release after a failed dialog: %+v, %v", got, err)
	}
	if !e.told(rejectApprover, "Click *Reject* again") {
		t.Errorf("clicker not told to try again: %+v", e.slack.Ephemerals(driftChannel, rejectApprover))
	}
	if text := e.threadText(r); strings.Contains(text, "rejected") {
		t.Errorf("thread says %q", text)
	}
}

// TestRejectByAnotherIsRefusedOnSubmit: the dialog opens for anyone; the
// policy is applied when it is submitted.
func TestRejectByAnotherIsRefusedOnSubmit(t *testing.T) {
	e, r := newRejectEnv(t)
	const bob = "U0BOB000001"
	e.slack.AddUser(slacktest.User{ID: bob, Name: "bob"})
	e.h.Interaction(context.Background(), e.click(t, r, bob, commands.ActionReject))
	e.h.Interaction(context.Background(), rejectSubmission(r, bob, "no way"))
	got, err := e.store.Get(context.Background(), r.ID)
	if err != nil || got.State != release.Proposed {
		t.Fatalf("release after a refused rejection: %+v, %v", got, err)
	}
	if !e.told(bob, "Only the proposer or an approver") {
		t.Errorf("bob not told why: %+v", e.slack.Ephemerals(driftChannel, bob))
	}
}

func TestRejectButtonAsksForConfirmation(t *testing.T) {
	raw, err := json.Marshal(commands.RejectConfirm())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"title"`, `"confirm"`, `"deny"`, `"style":"danger"`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("confirm %s lacks %s", raw, want)
		}
	}
}
