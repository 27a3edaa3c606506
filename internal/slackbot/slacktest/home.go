package slacktest

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
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

// wireViewLocked is the Home view as Slack sends it in an event or a
// click: the blocks and metadata published, with the fields Slack adds
// (https://api.slack.com/events/app_home_opened shows them). s.mu must be held.
func (s *Server) wireViewLocked(hv *homeView) map[string]any {
	var view map[string]any
	_ = json.Unmarshal(hv.View.View, &view) // it was checked when published
	if view == nil {
		view = map[string]any{}
	}
	for k, v := range map[string]any{
		"id": hv.ID, "team_id": s.opts.TeamID, "type": "home", "hash": hv.hash, "root_view_id": hv.ID,
		"app_id": s.opts.AppID, "app_installed_team_id": s.opts.TeamID, "bot_id": s.opts.BotID,
		"clear_on_close": false, "notify_on_close": false, "previous_view_id": nil, "close": nil, "submit": nil,
		"state": map[string]any{"values": map[string]any{}},
	} {
		view[k] = v
	}
	for _, k := range []string{"private_metadata", "callback_id", "external_id"} {
		if _, ok := view[k]; !ok {
			view[k] = ""
		}
	}
	return view
}

// OpenHome is the user opening the app's Home tab: an events_api envelope
// with the event_callback Slack sends for app_home_opened — the user, the
// channel of the app's direct message with them, tab "home", and the view
// when one was published for them before
// (https://api.slack.com/events/app_home_opened). It returns the envelope_id.
// With Options.NoHomeTab there is no Home tab to open.
func (s *Server) OpenHome(userID string) (string, error) {
	s.mu.Lock()
	if s.opts.NoHomeTab {
		s.mu.Unlock()
		return "", errors.New("slacktest: the app has no Home tab (Options.NoHomeTab)")
	}
	if _, ok := s.users[userID]; !ok {
		s.mu.Unlock()
		return "", fmt.Errorf("slacktest: no user %s", userID)
	}
	// The App Home's channel is the app's direct message with the user,
	// which Slack opens when they first visit it.
	dm, ok := s.ims[userID]
	if !ok {
		dm = newSlackID("D")
		ch := s.channelLocked(dm)
		ch.known, ch.botMember, ch.imUser = true, true, userID
		s.ims[userID] = dm
	}
	ts := s.newTSLocked()
	event := map[string]any{
		"type": "app_home_opened", "user": userID, "channel": dm, "tab": "home",
		"event_ts": ts,
	}
	if hv, ok := s.homes[userID]; ok {
		event["view"] = s.wireViewLocked(hv)
	}
	now := s.now()
	s.mu.Unlock()

	payload, err := json.Marshal(map[string]any{
		"token": verificationToken, "team_id": s.opts.TeamID, "api_app_id": s.opts.AppID,
		"event": event, "type": "event_callback", "event_id": "Ev" + strings.ToUpper(randomHex(5)),
		"event_time": now.Unix(), "event_context": "4-" + randomHex(8), "is_ext_shared_channel": false,
		"authorizations": []any{map[string]any{
			"enterprise_id": nil, "team_id": s.opts.TeamID, "user_id": s.opts.BotUserID,
			"is_bot": true, "is_enterprise_install": false,
		}},
	})
	if err != nil {
		return "", err
	}
	return s.SendEnvelope("events_api", payload)
}

// ErrNotOnHome is HomeAction asked for an element the user's Home tab does
// not hold (or a Home never published): a person cannot click it.
var ErrNotOnHome = errors.New("slacktest: no such element on the user's Home tab")

// HomeAction is a person clicking an element of their Home tab.
type HomeAction struct {
	// UserID is who clicked (required): the user whose Home it is.
	UserID string
	// ActionID names the element (required). When several elements share
	// it, BlockID says which; it defaults to the first one's block.
	ActionID, BlockID string
	// Value defaults to the element's; set it to click a forged button.
	Value string
}

// HomeAction sends the interactive envelope of a click on the user's Home
// tab: a block_actions payload whose container is the view (type "view",
// view_id), with the view as it now stands, a fresh trigger_id, and — as
// Slack does for the Home tab — no response_url and no channel
// (https://api.slack.com/reference/interaction-payloads/block-actions).
// The element must be on the Home view last published for the user.
func (s *Server) HomeAction(a HomeAction) (string, error) {
	if a.UserID == "" || a.ActionID == "" {
		return "", errors.New("slacktest: a home action needs UserID and ActionID")
	}
	s.mu.Lock()
	hv, ok := s.homes[a.UserID]
	if !ok {
		s.mu.Unlock()
		return "", fmt.Errorf("%w: no Home view published for %s", ErrNotOnHome, a.UserID)
	}
	var def struct {
		Blocks json.RawMessage `json:"blocks"`
	}
	_ = json.Unmarshal(hv.View.View, &def)
	blockID, el := findActionIn(def.Blocks, a.ActionID, a.BlockID)
	if el == nil {
		s.mu.Unlock()
		return "", fmt.Errorf("%w: %q (block %q) on %s's Home", ErrNotOnHome, a.ActionID, a.BlockID, a.UserID)
	}
	if a.Value == "" {
		a.Value = str(el, "value")
	}
	typ := str(el, "type")
	if typ == "" {
		typ = "button"
	}
	action := map[string]any{"type": typ, "action_id": a.ActionID, "block_id": blockID, "action_ts": s.newTSLocked()}
	if a.Value != "" {
		action["value"] = a.Value
	}
	if t, ok := el["text"]; ok {
		action["text"] = t
	}
	if st := str(el, "style"); st != "" {
		action["style"] = st
	}
	name := s.users[a.UserID].Name
	view := s.wireViewLocked(hv)
	triggerID := s.issueTriggerLocked(a.UserID)
	s.mu.Unlock()

	raw, err := json.Marshal(map[string]any{
		"type":                  "block_actions",
		"user":                  map[string]any{"id": a.UserID, "username": name, "name": name, "team_id": s.opts.TeamID},
		"api_app_id":            s.opts.AppID,
		"token":                 verificationToken,
		"container":             map[string]any{"type": "view", "view_id": hv.ID},
		"trigger_id":            triggerID,
		"team":                  map[string]any{"id": s.opts.TeamID, "domain": "slacktest"},
		"enterprise":            nil,
		"is_enterprise_install": false,
		"view":                  view,
		"actions":               []any{action},
	})
	if err != nil {
		return "", err
	}
	return s.SendEnvelope("interactive", raw)
}
