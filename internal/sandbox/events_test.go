package sandbox_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/release-bot/release-bot/internal/sandbox"
)

// sse is one server-sent event.
type sse struct {
	event, data string
}

// stream opens GET /sandbox/events for a user and returns its events.
func (e *env) stream(t *testing.T, user string) <-chan sse {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.page+"events?user="+user, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	out := make(chan sse, 100)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(out)
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(nil, 1<<20)
		var cur sse
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if cur.event != "" {
					out <- cur
				}
				cur = sse{}
			case strings.HasPrefix(line, "event: "):
				cur.event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				cur.data += strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		res.Body.Close()
		<-done
	})
	return out
}

// nextEvent returns the next event of the stream, or fails.
func nextEvent(t *testing.T, events <-chan sse) sse {
	t.Helper()
	select {
	case ev, ok := <-events:
		if !ok {
			t.Fatal("the stream ended")
		}
		return ev
	case <-time.After(timeout):
		t.Fatal("no event")
	}
	return sse{}
}

// change is a "message" event's data.
type change struct {
	Kind    string       `json:"kind"`
	Message stateMessage `json:"message"`
}

func decodeChange(t *testing.T, ev sse) change {
	t.Helper()
	if ev.event != "message" {
		t.Fatalf("event %q (%s), want message", ev.event, ev.data)
	}
	var c change
	if err := json.Unmarshal([]byte(ev.data), &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestEventsStartWithTheChannelThenFollowIt(t *testing.T) {
	e, got := start(t, true)
	before := e.post(t, slack.MsgOptionText("posted before the page opened", false))
	events := e.stream(t, bob)

	first := nextEvent(t, events)
	var st state
	if first.event != "state" || json.Unmarshal([]byte(first.data), &st) != nil {
		t.Fatalf("first event %q: %s", first.event, first.data)
	}
	if _, ok := st.find(before); !ok || st.User != bob {
		t.Errorf("the first event is not bob's channel: %s", first.data)
	}

	ts := e.post(t, slack.MsgOptionText("Release prod-7 proposed", false), slack.MsgOptionBlocks(releaseBlocks("Release prod-7")...))
	if c := decodeChange(t, nextEvent(t, events)); c.Kind != "posted" || c.Message.TS != ts || !strings.Contains(string(c.Message.Blocks), "Approve") {
		t.Errorf("posted: %+v", c)
	}
	// Alice's ephemeral never reaches bob's page; bob's does.
	if _, err := e.api.PostEphemeral(channelID, alice, slack.MsgOptionText("for alice", false)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.api.PostEphemeral(channelID, bob, slack.MsgOptionText("for bob", false)); err != nil {
		t.Fatal(err)
	}
	if c := decodeChange(t, nextEvent(t, events)); c.Kind != "ephemeral" || c.Message.Text != "for bob" {
		t.Errorf("ephemeral: %+v (alice's must not show)", c)
	}
	if _, _, _, err := e.api.UpdateMessage(channelID, ts, slack.MsgOptionText("Release prod-7 approved", false)); err != nil {
		t.Fatal(err)
	}
	if c := decodeChange(t, nextEvent(t, events)); c.Kind != "updated" || c.Message.TS != ts || !c.Message.Edited {
		t.Errorf("updated: %+v", c)
	}
	reply := e.post(t, slack.MsgOptionText("carol approved", false), slack.MsgOptionTS(ts))
	if c := decodeChange(t, nextEvent(t, events)); c.Message.TS != reply || c.Message.ThreadTS != ts {
		t.Errorf("reply: %+v", c)
	}
	if _, _, err := e.api.DeleteMessage(channelID, before); err != nil {
		t.Fatal(err)
	}
	if c := decodeChange(t, nextEvent(t, events)); c.Kind != "deleted" || c.Message.TS != before || c.Message.Text != "" {
		t.Errorf("deleted: %+v", c)
	}
	// A dialog the bot opens for bob comes as a "view" event.
	viewID := e.openRejectDialog(t, got, bob, ts)
	ev := nextEvent(t, events)
	var v stateView
	if ev.event != "view" || json.Unmarshal([]byte(ev.data), &v) != nil || v.ID != viewID || !strings.Contains(string(v.View), "release_reject_reason") {
		t.Errorf("view event %q: %s", ev.event, ev.data)
	}
}

func TestEventsEndWhenTheFakeCloses(t *testing.T) {
	e, _ := start(t, false)
	events := e.stream(t, alice)
	if ev := nextEvent(t, events); ev.event != "state" {
		t.Fatalf("first event %q", ev.event)
	}
	e.fake.Close()
	for range events { // ends, or the test times out
	}
}

func TestEventsEndWhenThePageIsDone(t *testing.T) {
	done := make(chan struct{})
	e, _ := start(t, false, func(p *sandbox.Page) { p.Done = done })
	events := e.stream(t, alice)
	if ev := nextEvent(t, events); ev.event != "state" {
		t.Fatalf("first event %q", ev.event)
	}
	close(done)
	for range events { // ends, or the test times out
	}
}
