package slacktest

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// maxBody bounds a request body, as Slack does.
const maxBody = 1 << 20

// apiRequest is a parsed Web API request.
type apiRequest struct {
	r      *http.Request
	values url.Values
	body   json.RawMessage
}

func (in *apiRequest) get(k string) string { return in.values.Get(k) }

func (in *apiRequest) has(k string) bool { return in.values.Has(k) }

// apiHandler answers one Web API method with the fields of a successful
// response, or a Slack error code. It runs with s.mu held.
type apiHandler func(s *Server, in *apiRequest) (map[string]any, string)

// apiMethods is the table of methods the fake implements.
var apiMethods = map[string]apiHandler{
	"apps.connections.open": (*Server).appsConnectionsOpen,
	"auth.test":             (*Server).authTest,
	"chat.postMessage":      (*Server).chatPostMessage,
	"chat.update":           (*Server).chatUpdate,
	"chat.postEphemeral":    (*Server).chatPostEphemeral,
	"chat.delete":           (*Server).chatDelete,
	"chat.getPermalink":     (*Server).chatGetPermalink,
	"conversations.open":    (*Server).conversationsOpen,
	"conversations.replies": (*Server).conversationsReplies,
	"users.info":            (*Server).usersInfo,
	"usergroups.list":       (*Server).usergroupsList,
	"usergroups.users.list": (*Server).usergroupsUsersList,
	"views.open":            (*Server).viewsOpen,
	"views.publish":         (*Server).viewsPublish,
}

// serveAPI records a Web API call, applies injected faults, checks the
// token and answers. Errors are HTTP 200 with {"ok":false,"error":code}.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, method string) {
	in, parseErr := parseAPIRequest(r)
	token := in.values.Get("token")
	if token == "" {
		token, _ = strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	}
	in.values.Del("token")
	call := &Call{Method: method, Values: maps.Clone(in.values), Body: in.body, Status: http.StatusOK}

	s.mu.Lock()
	call.At = s.now()
	s.calls = append(s.calls, call)
	s.signalLocked()
	s.mu.Unlock()

	if s.injectFault(w, r, method, call) {
		return
	}
	if !s.waitHolds(r, method, in.values, false) {
		return
	}

	s.mu.Lock()
	var resp map[string]any
	code := "unknown_method"
	if h, ok := apiMethods[method]; ok {
		code = s.authLocked(method, token)
		if code == "" && parseErr != nil {
			code = "invalid_form_data"
		}
		if code == "" {
			resp, code = h(s, in)
		}
	}
	call.Error = code
	s.signalLocked()
	s.mu.Unlock()

	if !s.waitHolds(r, method, in.values, true) {
		return
	}
	if code != "" {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": code})
		return
	}
	if resp == nil {
		resp = map[string]any{}
	}
	resp["ok"] = true
	writeJSON(w, http.StatusOK, resp)
}

// parseAPIRequest reads a form (body or query) or a JSON body. JSON fields
// that are not strings are kept as JSON text, as Slack reads them.
func parseAPIRequest(r *http.Request) (*apiRequest, error) {
	in := &apiRequest{r: r, values: url.Values{}}
	r.Body = http.MaxBytesReader(nil, r.Body, maxBody)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/json" {
		err := r.ParseForm()
		if r.Form != nil {
			in.values = r.Form
		}
		return in, err
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return in, err
	}
	in.body = body
	in.values, err = flattenJSON(body)
	return in, err
}

// flattenJSON turns a JSON object's fields into values: strings as they are,
// anything else as JSON text.
func flattenJSON(body []byte) (url.Values, error) {
	values := url.Values{}
	if len(bytes.TrimSpace(body)) == 0 {
		return values, nil // apps.connections.open sends no body
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return values, err
	}
	for k, raw := range fields {
		var str string
		if json.Unmarshal(raw, &str) == nil {
			values.Set(k, str)
		} else {
			values.Set(k, string(raw))
		}
	}
	return values, nil
}

// authLocked checks the token for the method: the app token opens sockets,
// the bot token does everything else.
func (s *Server) authLocked(method, token string) string {
	want, other := s.opts.BotToken, s.opts.AppToken
	if method == "apps.connections.open" {
		want, other = other, want
	}
	switch token {
	case want:
		return ""
	case "":
		return "not_authed"
	case other:
		return "not_allowed_token_type"
	default:
		return "invalid_auth"
	}
}

// postableChannelLocked resolves the channel a message goes to.
func (s *Server) postableChannelLocked(ref string) (*channel, string) {
	ch := s.findChannelLocked(ref)
	switch {
	case ch == nil || !ch.known:
		return nil, "channel_not_found"
	case !ch.botMember:
		return nil, "not_in_channel"
	}
	return ch, ""
}

// content reads text and blocks. hasBlocks is true when the blocks field was
// sent, even as "[]" (which clears blocks on chat.update).
func (s *Server) content(in *apiRequest) (text string, blocks json.RawMessage, hasBlocks bool, code string) {
	text = in.get("text")
	if len(text) > maxTextLen {
		return "", nil, false, "msg_too_long"
	}
	if b := in.get("blocks"); b != "" && b != "null" {
		hasBlocks = true
		if blocks, code = validateBlocks([]byte(b)); code != "" {
			return "", nil, false, code
		}
		if messageBlocksTooLong(blocks) {
			return "", nil, false, "msg_blocks_too_long"
		}
	}
	return text, blocks, hasBlocks, ""
}

// threadRootLocked resolves thread_ts to the thread's parent.
func (s *Server) threadRootLocked(ch *channel, ts string) (string, string) {
	if ts == "" {
		return "", ""
	}
	m := s.messageLocked(ch.id, ts)
	if m == nil || m.Ephemeral || m.Deleted {
		return "", "thread_not_found"
	}
	if m.ThreadTS != "" {
		return m.ThreadTS, ""
	}
	return m.TS, ""
}

// newMessageLocked builds a new message from text, blocks and thread_ts,
// with a fresh ts; the caller sets who posted it and appends it.
func (s *Server) newMessageLocked(ch *channel, in *apiRequest) (*Message, string) {
	text, blocks, _, code := s.content(in)
	if code != "" {
		return nil, code
	}
	if text == "" && blocks == nil && in.get("attachments") == "" {
		return nil, "no_text"
	}
	thread, code := s.threadRootLocked(ch, in.get("thread_ts"))
	if code != "" {
		return nil, code
	}
	return &Message{Channel: ch.id, TS: s.newTSLocked(), ThreadTS: thread, Text: text, Blocks: blocks}, ""
}

// wireMessage renders a message the way Slack returns it.
func (s *Server) wireMessage(m *Message) map[string]any {
	out := map[string]any{
		"type": "message", "user": m.User, "text": m.Text, "ts": m.TS, "team": s.opts.TeamID,
	}
	if m.User == s.opts.BotUserID {
		out["bot_id"], out["app_id"] = s.opts.BotID, s.opts.AppID
	}
	if m.ThreadTS != "" {
		out["thread_ts"] = m.ThreadTS
	}
	if m.Blocks != nil {
		out["blocks"] = m.Blocks
	}
	if m.Edited {
		out["edited"] = map[string]string{"user": s.opts.BotUserID, "ts": m.TS}
	}
	return out
}

// chatPostMessage posts a message or a thread reply as the bot.
// https://api.slack.com/methods/chat.postMessage
func (s *Server) chatPostMessage(in *apiRequest) (map[string]any, string) {
	ch, code := s.postableChannelLocked(in.get("channel"))
	if code != "" {
		return nil, code
	}
	m, code := s.newMessageLocked(ch, in)
	if code != "" {
		return nil, code
	}
	m.User = s.opts.BotUserID
	ch.msgs = append(ch.msgs, m)
	s.publishLocked(EventPosted, m)
	return map[string]any{"channel": ch.id, "ts": m.TS, "message": s.wireMessage(m)}, ""
}

// botMessageLocked finds the message chat.update and chat.delete act on:
// one the bot posted, visible to everyone and not deleted.
func (s *Server) botMessageLocked(in *apiRequest, notBots string) (*channel, *Message, string) {
	ch := s.findChannelLocked(in.get("channel"))
	if ch == nil || !ch.known {
		return nil, nil, "channel_not_found"
	}
	m := s.messageLocked(ch.id, in.get("ts"))
	if m == nil || m.Deleted || m.Ephemeral {
		return nil, nil, "message_not_found"
	}
	if m.User != s.opts.BotUserID {
		return nil, nil, notBots
	}
	return ch, m, ""
}

// chatUpdate edits one of the bot's non-ephemeral messages in place; fields
// not sent are kept.
// https://api.slack.com/methods/chat.update
func (s *Server) chatUpdate(in *apiRequest) (map[string]any, string) {
	ch, m, code := s.botMessageLocked(in, "cant_update_message")
	if code != "" {
		return nil, code
	}
	text, blocks, hasBlocks, code := s.content(in)
	if code != "" {
		return nil, code
	}
	if !in.has("text") && !hasBlocks && in.get("attachments") == "" {
		return nil, "no_text"
	}
	if in.has("text") {
		m.Text = text
	}
	if hasBlocks {
		m.Blocks = blocks
	}
	m.Edited = true
	s.publishLocked(EventUpdated, m)
	return map[string]any{"channel": ch.id, "ts": m.TS, "text": m.Text, "message": s.wireMessage(m)}, ""
}

// chatPostEphemeral posts a message only one user sees.
// https://api.slack.com/methods/chat.postEphemeral
func (s *Server) chatPostEphemeral(in *apiRequest) (map[string]any, string) {
	ch, code := s.postableChannelLocked(in.get("channel"))
	if code != "" {
		return nil, code
	}
	user, ok := s.users[in.get("user")]
	if !ok || user.Deleted {
		return nil, "user_not_in_channel"
	}
	m, code := s.newMessageLocked(ch, in)
	if code != "" {
		return nil, code
	}
	m.User, m.Ephemeral, m.VisibleTo = user.ID, true, user.ID
	ch.msgs = append(ch.msgs, m)
	s.publishLocked(EventEphemeral, m)
	return map[string]any{"message_ts": m.TS}, ""
}

// chatDelete deletes one of the bot's non-ephemeral messages.
// https://api.slack.com/methods/chat.delete
func (s *Server) chatDelete(in *apiRequest) (map[string]any, string) {
	ch, m, code := s.botMessageLocked(in, "cant_delete_message")
	if code != "" {
		return nil, code
	}
	m.Deleted = true
	s.publishLocked(EventDeleted, m)
	return map[string]any{"channel": ch.id, "ts": m.TS}, ""
}
