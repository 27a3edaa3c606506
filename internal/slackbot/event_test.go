package slackbot_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/release-bot/release-bot/internal/secret/secrettest"
	"github.com/release-bot/release-bot/internal/slackbot"
	"github.com/release-bot/release-bot/internal/slackbot/slacktest"
)

// homeEvents records the Events API events the loop handed over.
type homeEvents struct {
	commands
	mu     sync.Mutex
	events []slackevents.EventsAPIEvent
}

func (h *homeEvents) Event(_ context.Context, e slackevents.EventsAPIEvent) {
	h.mu.Lock()
	h.events = append(h.events, e)
	h.mu.Unlock()
}

func (h *homeEvents) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.events)
}

// TestEventsReachAnEventHandlerOnceEach: an app_home_opened is acked and
// handed to a Handler that takes events, with its user and tab; Slack's
// redelivery of it (same event_id) is dropped as a duplicate, while a
// second opening is a new event. A Handler that takes no events gets none,
// and the envelope is still acked.
func TestEventsReachAnEventHandlerOnceEach(t *testing.T) {
	fake := slacktest.Start(t, slacktest.Options{})
	fake.AddUser(slacktest.User{ID: "U0ALICE", Name: "alice"})
	o := fake.Options()
	api := slack.New(o.BotToken, slack.OptionAPIURL(fake.APIURL()), slack.OptionAppLevelToken(o.AppToken))
	h := &homeEvents{commands: *newCommands()}
	log := &secrettest.Log{}
	loop := runWith(t, slackbot.Options{Socket: socketmode.New(api), Handler: h, Dedup: &memDedup{seen: map[string]bool{}}, Logger: zerolog.New(log)})
	if !eventually(loop.Connected) {
		t.Fatal("never connected")
	}
	id, err := fake.OpenHome("U0ALICE")
	if err != nil {
		t.Fatal(err)
	}
	if !eventually(func() bool { return h.count() == 1 }) {
		t.Fatal("the event never reached the handler")
	}
	h.mu.Lock()
	inner, ok := h.events[0].InnerEvent.Data.(*slackevents.AppHomeOpenedEvent)
	h.mu.Unlock()
	if !ok || inner.User != "U0ALICE" || inner.Tab != "home" {
		t.Errorf("event = %+v", inner)
	}
	if err := fake.Redeliver(id); err != nil {
		t.Fatal(err)
	}
	if _, err := fake.OpenHome("U0ALICE"); err != nil {
		t.Fatal(err)
	}
	if !eventually(func() bool { return len(fake.Acks()) == 3 }) {
		t.Fatalf("acks = %d, want 3", len(fake.Acks()))
	}
	dropped := func() bool {
		_, ok := findLine(t, log, map[string]any{"message": "duplicate delivery ignored"})
		return ok
	}
	if !eventually(func() bool { return h.count() == 2 && dropped() }) || h.count() != 2 {
		t.Errorf("events handled = %d, want 2 (the redelivery dropped: %v)", h.count(), dropped())
	}

	plain := newCommands()
	loop2, _, _ := runLoop(t, api, plain)
	if !eventually(loop2.Connected) {
		t.Fatal("never connected")
	}
	before := len(fake.Acks())
	for range 2 { // round-robin: one of these reaches the second loop
		if _, err := fake.OpenHome("U0ALICE"); err != nil {
			t.Fatal(err)
		}
	}
	if !eventually(func() bool { return len(fake.Acks()) == before+2 }) {
		t.Errorf("events not acked by a loop whose handler takes none")
	}
}

// memDedup is a Deduper in memory, as one replica's Redis would be.
type memDedup struct {
	mu   sync.Mutex
	seen map[string]bool
}

func (d *memDedup) Once(_ context.Context, key string, _ time.Duration) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	first := !d.seen[key]
	d.seen[key] = true
	return first, nil
}

// runWith runs a Loop with opts until the test ends.
func runWith(t *testing.T, opts slackbot.Options) *slackbot.Loop {
	t.Helper()
	opts.Drain = time.Second
	loop, err := slackbot.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		_ = loop.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-finished
	})
	return loop
}
