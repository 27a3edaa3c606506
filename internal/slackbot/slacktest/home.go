package slacktest

import (
	"encoding/json"
	"unicode/utf8"
)

// Limits of a view Slack enforces (reference/slack.md; Slack's views.publish
// and view reference): up to 100 blocks, private_metadata up to 3,000
// characters, callback_id up to 255, and the whole view up to 250 kB
// (views.publish answers view_too_large past it).
const (
	maxViewBlocks   = 100
	maxViewMetadata = 3_000
	maxCallbackID   = 255
	maxViewBytes    = 250_000
)

// homeView is the Home tab the app last published for a user.
type homeView struct {
	View
	hash string
}

// viewsPublish sets a user's Home tab. The view must be of type home; a
// hash, when sent, must be the one of the view it replaces (hash_conflict
// otherwise), which is how two publishers avoid overwriting a newer view.
// https://api.slack.com/methods/views.publish
func (s *Server) viewsPublish(in *apiRequest) (map[string]any, string) {
	if s.opts.NoHomeTab {
		return nil, "not_enabled"
	}
	raw := in.get("view")
	if len(raw) > maxViewBytes {
		return nil, "view_too_large"
	}
	var view map[string]any
	if raw == "" || json.Unmarshal([]byte(raw), &view) != nil || view == nil {
		return nil, "invalid_arguments"
	}
	user, ok := s.users[in.get("user_id")]
	if !ok || user.Deleted || user.IsBot {
		return nil, "invalid_arguments"
	}
	if str(view, "type") != "home" || utf8.RuneCountInString(str(view, "private_metadata")) > maxViewMetadata ||
		utf8.RuneCountInString(str(view, "callback_id")) > maxCallbackID {
		return nil, "invalid_arguments"
	}
	blocks, _ := json.Marshal(view["blocks"])
	if _, code := validateBlocksUpTo(blocks, maxViewBlocks); code != "" {
		return nil, code
	}
	prev := s.homes[user.ID]
	if h := in.get("hash"); h != "" && (prev == nil || prev.hash != h) {
		return nil, "hash_conflict"
	}
	id := newSlackID("V")
	if prev != nil {
		id = prev.ID // a user's Home tab keeps its view id
	}
	hv := &homeView{View: View{ID: id, UserID: user.ID, View: json.RawMessage(raw)}, hash: randomHex(8)}
	s.homes[user.ID] = hv
	s.signalLocked()
	view["id"], view["team_id"], view["app_id"], view["bot_id"], view["hash"] = id, s.opts.TeamID, s.opts.AppID, s.opts.BotID, hv.hash
	return map[string]any{"view": view}, ""
}

// Home returns the Home tab last published for the user; false when none was.
func (st *State) Home(userID string) (View, bool) {
	hv, ok := st.s.homes[userID]
	if !ok {
		return View{}, false
	}
	return hv.View, true
}

// Home returns the Home tab last published for the user; see State.Home.
func (s *Server) Home(userID string) (View, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state().Home(userID)
}
