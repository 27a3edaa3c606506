package slackbot

import (
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

// TestPacerBurstThenOnePerInterval: three posts at once, then one a second;
// waiting reserves the slot, so concurrent posters queue up.
func TestPacerBurstThenOnePerInterval(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	p := newPacer(time.Second)
	var waits []time.Duration
	for range 5 {
		waits = append(waits, reserve(p, t0))
	}
	want := []time.Duration{0, 0, 0, time.Second, 2 * time.Second}
	for i := range want {
		if waits[i] != want[i] {
			t.Fatalf("waits %v, want %v", waits, want)
		}
	}
	// After a quiet spell the burst is back, never more than three.
	later := t0.Add(time.Hour)
	for i := range postBurst {
		if w := reserve(p, later); w != 0 {
			t.Errorf("after an hour, post %d waits %v", i+1, w)
		}
	}
	if w := reserve(p, later); w != time.Second {
		t.Errorf("after an hour, post %d waits %v, want 1s", postBurst+1, w)
	}
}

// TestHomesArePacedTogether: views.publish calls, for any users, share one
// pacer: a burst of homeBurst, then one per HomeInterval (Tier 4).
func TestHomesArePacedTogether(t *testing.T) {
	now := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	a := NewAPI(APIOptions{HomeInterval: time.Second, Now: func() time.Time { return now }})
	for i := range homeBurst {
		if w := reserve(a.homes, now); w != 0 {
			t.Errorf("home %d waits %v", i+1, w)
		}
	}
	if w := reserve(a.homes, now); w != time.Second {
		t.Errorf("home %d waits %v, want 1s", homeBurst+1, w)
	}
}

func TestDedupKeyNamesADelivery(t *testing.T) {
	cmd := job{kind: socketmode.EventTypeSlashCommand, command: slack.SlashCommand{TriggerID: "T1"}}
	if got := dedupKey(cmd); got != "cmd:T1" {
		t.Errorf("command key %q", got)
	}
	click := job{kind: socketmode.EventTypeInteractive, callback: slack.InteractionCallback{
		User: slack.User{ID: "U1"}, Container: slack.Container{MessageTs: "1.2"},
		ActionCallback: slack.ActionCallbacks{BlockActions: []*slack.BlockAction{{ActionID: "release_approve", ActionTs: "3.4"}}},
	}}
	if got := dedupKey(click); got != "click:1.2:release_approve:U1:3.4" {
		t.Errorf("click key %q", got)
	}
	// The same person clicking again later is a new click, not a redelivery.
	again := click
	again.callback.ActionCallback.BlockActions = []*slack.BlockAction{{ActionID: "release_approve", ActionTs: "5.6"}}
	if dedupKey(again) == dedupKey(click) {
		t.Error("a second click has the first one's key")
	}
	// A redelivered submission has the first one's key; a second submission
	// of the same view with a new reason (after a blank one was answered
	// with response_action errors) does not.
	submit := func(reason string) job {
		cb := slack.InteractionCallback{Type: slack.InteractionTypeViewSubmission}
		cb.View.ID, cb.View.Hash = "V1", "h1"
		cb.View.State = &slack.ViewState{Values: map[string]map[string]slack.BlockAction{"reason": {"reason": {Value: reason}}}}
		return job{kind: socketmode.EventTypeInteractive, callback: cb}
	}
	if first, again := dedupKey(submit("")), dedupKey(submit("")); first != again || !strings.HasPrefix(first, "view:V1:h1:") {
		t.Errorf("a redelivered submission has another key: %q", dedupKey(submit("")))
	}
	if dedupKey(submit("")) == dedupKey(submit("web is not ready")) {
		t.Error("a resubmission with a reason has the blank one's key")
	}
	// A click on the Home tab has no message: its view names it.
	home := click
	home.callback.Container = slack.Container{Type: "view", ViewID: "V9"}
	if got := dedupKey(home); got != "click:V9:release_approve:U1:3.4" {
		t.Errorf("home click key %q", got)
	}
	event := job{kind: socketmode.EventTypeEventsAPI, event: slackevents.EventsAPIEvent{Data: &slackevents.EventsAPICallbackEvent{EventID: "Ev1"}}}
	if got := dedupKey(event); got != "event:Ev1" {
		t.Errorf("event key %q", got)
	}
	if got := dedupKey(job{kind: socketmode.EventTypeSlashCommand}); got != "" {
		t.Errorf("no trigger id, key %q", got)
	}
}
