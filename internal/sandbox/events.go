package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/release-bot/release-bot/internal/slackbot/slacktest"
)

// heartbeat is how often an idle event stream gets a comment, so that a
// browser that went away is noticed and proxies keep the stream open.
const heartbeat = 15 * time.Second

// change is the data of a "message" event.
type change struct {
	Kind    slacktest.EventKind `json:"kind"`
	Message message             `json:"message"`
}

// homeEvent is the data of a "home" event: the user's Home tab as the bot
// just published it.
type homeEvent struct {
	View json.RawMessage `json:"view"`
}

// events answers GET /sandbox/events?user=U… with server-sent events: first
// "state" (the snapshot GET /sandbox/state returns), then a "message" for
// every change the user can see, a "view" for every dialog the bot opens
// for them and a "home" for every new Home tab it publishes for them. The snapshot is read after subscribing, so the events that
// follow it may repeat changes it already holds; each carries the message
// as it stands after its change, so replaying them in order ends where the
// channel is. A browser that reconnects gets a fresh snapshot.
func (h *handler) events(w http.ResponseWriter, r *http.Request) {
	user, aerr := h.viewer(r)
	if aerr != nil {
		writeError(w, aerr.status, aerr.msg)
		return
	}
	rc := http.NewResponseController(w)
	ctx, cancel := context.WithCancel(r.Context())

	changes, unsubscribe := h.page.Slack.Subscribe()
	defer unsubscribe()
	snap, seenViews := h.snapshot(user)
	views := make(chan slacktest.View)
	homes := make(chan json.RawMessage)
	var wg sync.WaitGroup
	wg.Go(func() { h.watchViews(ctx, user, seenViews, views) })
	wg.Go(func() { h.watchHome(ctx, user, snap.Home, homes) })
	defer wg.Wait()
	defer cancel() // runs before wg.Wait

	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	// A reconnecting EventSource waits this long (ms) before trying again.
	if _, err := fmt.Fprint(w, "retry: 1000\n\n"); err != nil {
		return
	}
	send := func(event string, v any) bool {
		data, err := json.Marshal(v)
		if err == nil {
			_, err = fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, data)
		}
		if err == nil {
			err = rc.Flush()
		}
		return err == nil
	}
	if !send("state", snap) {
		return
	}
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		select {
		case e, ok := <-changes:
			if !ok {
				return // the fake closed
			}
			if h.visible(e.Message, user) && !send("message", change{Kind: e.Kind, Message: h.toMessage(e.Message)}) {
				return
			}
		case v := <-views:
			if !send("view", view{ID: v.ID, View: v.View}) {
				return
			}
		case v := <-homes:
			if !send("home", homeEvent{View: v}) {
				return
			}
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": heartbeat\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		case <-h.page.Done:
			return
		case <-ctx.Done():
			return
		}
	}
}

// watchViews hands on every dialog opened for the user after the first
// seen views, until ctx ends or the fake closes. The fake announces views
// only through WaitFor.
func (h *handler) watchViews(ctx context.Context, user string, seen int, out chan<- slacktest.View) {
	for {
		var fresh []slacktest.View
		err := h.page.Slack.WaitFor(ctx, func(st *slacktest.State) bool {
			if vs := st.Views(); len(vs) > seen {
				fresh = vs[seen:]
				return true
			}
			return false
		})
		if err != nil {
			return
		}
		seen += len(fresh)
		for _, v := range fresh {
			if v.UserID != user {
				continue
			}
			select {
			case out <- v:
			case <-ctx.Done():
				return
			}
		}
	}
}

// watchHome hands on the user's Home tab each time the bot publishes a
// different one from last, until ctx ends or the fake closes.
func (h *handler) watchHome(ctx context.Context, user string, last json.RawMessage, out chan<- json.RawMessage) {
	for {
		var fresh json.RawMessage
		err := h.page.Slack.WaitFor(ctx, func(st *slacktest.State) bool {
			if v, ok := st.Home(user); ok && !bytes.Equal(v.View, last) {
				fresh = v.View
				return true
			}
			return false
		})
		if err != nil {
			return
		}
		last = fresh
		select {
		case out <- fresh:
		case <-ctx.Done():
			return
		}
	}
}
