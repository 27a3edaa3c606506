package sandbox

import (
	"encoding/json"
	"net/http"

	"github.com/release-bot/release-bot/internal/slackbot/slacktest"
)

// message is a message as the page receives it.
type message struct {
	TS       string `json:"ts"`
	ThreadTS string `json:"thread_ts,omitempty"`
	// User is who posted it: the bot, for everything the fake holds.
	User      string          `json:"user"`
	Text      string          `json:"text,omitempty"`
	Blocks    json.RawMessage `json:"blocks,omitempty"`
	Ephemeral bool            `json:"ephemeral,omitempty"`
	Edited    bool            `json:"edited,omitempty"`
	// Deleted messages keep their place (a thread may hang from them) but
	// not their content.
	Deleted bool `json:"deleted,omitempty"`
}

// view is a dialog the bot opened for the user.
type view struct {
	ID   string          `json:"id"`
	View json.RawMessage `json:"view"`
}

// channelInfo names the channel.
type channelInfo struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// snapshot is the channel as one user sees it.
type snapshot struct {
	Channel channelInfo `json:"channel"`
	// Bot is the bot user, for its name on messages and mentions.
	Bot User `json:"bot"`
	// User is whom the snapshot is for.
	User  string `json:"user"`
	Users []User `json:"users"`
	// Messages are in posting order, thread replies and the user's
	// ephemerals included.
	Messages []message `json:"messages"`
	// Views are the dialogs open for the user.
	Views []view `json:"views"`
	// Home is the user's Home tab as the bot last published it; absent
	// when it never did.
	Home json.RawMessage `json:"home,omitempty"`
}

// visible reports whether the user sees m in the page's channel.
func (h *handler) visible(m slacktest.Message, user string) bool {
	return m.Channel == h.page.Channel && (!m.Ephemeral || m.VisibleTo == user)
}

// toMessage turns a message of the fake into the page's form.
func (h *handler) toMessage(m slacktest.Message) message {
	out := message{TS: m.TS, ThreadTS: m.ThreadTS, User: m.User, Ephemeral: m.Ephemeral, Edited: m.Edited, Deleted: m.Deleted}
	if m.Ephemeral {
		// The fake names the viewer in User; the author is the bot.
		out.User = h.page.Slack.Options().BotUserID
	}
	if !m.Deleted {
		out.Text, out.Blocks = m.Text, m.Blocks
	}
	return out
}

// snapshot reads the channel for a user. It also returns how many views the
// fake had opened, for the event stream to watch from.
func (h *handler) snapshot(user string) (snapshot, int) {
	opts := h.page.Slack.Options()
	name := h.page.ChannelName
	if name == "" {
		name = h.page.Channel
	}
	snap := snapshot{
		Channel:  channelInfo{ID: h.page.Channel, Name: name},
		Bot:      User{ID: opts.BotUserID, Name: "release-bot"},
		User:     user,
		Users:    h.page.Users,
		Messages: []message{},
		Views:    []view{},
	}
	if snap.Users == nil {
		snap.Users = []User{}
	}
	for _, m := range h.page.Slack.History(h.page.Channel) {
		if h.visible(m, user) {
			snap.Messages = append(snap.Messages, h.toMessage(m))
		}
	}
	views := h.page.Slack.Views()
	for _, v := range views {
		if v.UserID == user && !h.isClosed(v.ID) {
			snap.Views = append(snap.Views, view{ID: v.ID, View: v.View})
		}
	}
	if v, ok := h.page.Slack.Home(user); ok {
		snap.Home = v.View
	}
	return snap, len(views)
}

// viewer reads the ?user= of a GET: a known user, or the first one when
// none is named (a page opened without a choice yet).
func (h *handler) viewer(r *http.Request) (string, *apiError) {
	id := r.URL.Query().Get("user")
	if id == "" {
		if len(h.page.Users) == 0 {
			return "", badRequest("the sandbox has no users")
		}
		return h.page.Users[0].ID, nil
	}
	if _, ok := h.user(id); !ok {
		return "", badRequest("unknown user %s", quote(id))
	}
	return id, nil
}

// state answers GET /sandbox/state?user=U…: the channel as the user sees it.
func (h *handler) state(w http.ResponseWriter, r *http.Request) {
	id, err := h.viewer(r)
	if err != nil {
		writeError(w, err.status, err.msg)
		return
	}
	snap, _ := h.snapshot(id)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, snap)
}
