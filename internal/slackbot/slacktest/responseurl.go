package slacktest

import (
	"encoding/json"
	"io"
	"net/http"
	"time"
)

// Response URL limits, as Slack documents them.
const (
	maxHookUses = 5
	hookTTL     = 30 * time.Minute
)

// hook is a response_url the fake handed out with an envelope.
type hook struct {
	channel, user string
	// original is the ts replace_original and delete_original act on.
	original string
	// followsLast makes each new message the original, as for a slash
	// command, whose first response has nothing to replace.
	followsLast bool
	uses        int
	issued      time.Time
}

// newHookLocked registers a response URL and returns it. s.mu must be held.
func (s *Server) newHookLocked(channelID, userID, original string) string {
	key := randomHex(16)
	s.hooks[key] = &hook{channel: channelID, user: userID, original: original, followsLast: original == "", issued: s.now()}
	base := s.base
	if base == "" {
		base = "http://slacktest.invalid"
	}
	return base + Prefix + "response/" + key
}

// hookMessage is the JSON a response URL takes.
type hookMessage struct {
	Text            string          `json:"text"`
	Blocks          json.RawMessage `json:"blocks"`
	ResponseType    string          `json:"response_type"`
	ReplaceOriginal bool            `json:"replace_original"`
	DeleteOriginal  bool            `json:"delete_original"`
	ThreadTS        string          `json:"thread_ts"`
}

// serveResponseURL applies a JSON post to a response URL: a new ephemeral
// (or in_channel) message, or replace/delete of the message the URL belongs
// to. At most five uses in thirty minutes; after that 404 used_url or
// expired_url. Errors are non-200 plain text, which slack-go reports as
// slack.StatusCodeError.
func (s *Server) serveResponseURL(w http.ResponseWriter, r *http.Request, key string) {
	body, _ := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	var msg hookMessage
	parseErr := json.Unmarshal(body, &msg)
	values, _ := flattenJSON(body)
	call := &Call{Method: "response_url", Values: values, Body: body, Status: http.StatusOK}
	s.mu.Lock()
	call.At = s.now()
	s.calls = append(s.calls, call)
	s.signalLocked()
	s.mu.Unlock()
	if s.injectFault(w, r, "response_url", call) {
		return
	}

	s.mu.Lock()
	status, code := http.StatusBadRequest, "invalid_payload"
	if r.Method == http.MethodPost && parseErr == nil {
		status, code = s.applyHookLocked(key, &msg)
	}
	call.Status, call.Error = status, code
	s.signalLocked()
	s.mu.Unlock()

	if status != http.StatusOK {
		http.Error(w, code, status)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

// applyHookLocked does what a response URL post asks. s.mu must be held.
func (s *Server) applyHookLocked(key string, msg *hookMessage) (int, string) {
	h, ok := s.hooks[key]
	switch {
	case !ok:
		return http.StatusNotFound, "invalid_url"
	case s.now().Sub(h.issued) > hookTTL:
		return http.StatusNotFound, "expired_url"
	case h.uses >= maxHookUses:
		return http.StatusNotFound, "used_url"
	}
	var blocks json.RawMessage
	if len(msg.Blocks) > 0 && string(msg.Blocks) != "null" {
		var code string
		if blocks, code = validateBlocks(msg.Blocks); code != "" {
			return http.StatusBadRequest, code
		}
		if messageBlocksTooLong(blocks) {
			return http.StatusBadRequest, "msg_blocks_too_long"
		}
	}
	if len(msg.Text) > maxTextLen {
		return http.StatusBadRequest, "msg_too_long"
	}
	if !msg.DeleteOriginal && msg.Text == "" && blocks == nil {
		return http.StatusBadRequest, "no_text"
	}
	ch := s.channelLocked(h.channel)
	var orig *Message
	if msg.ReplaceOriginal || msg.DeleteOriginal {
		if orig = s.messageLocked(h.channel, h.original); orig == nil || orig.Deleted {
			return http.StatusNotFound, "message_not_found"
		}
	}
	h.uses++
	switch {
	case msg.DeleteOriginal:
		orig.Deleted = true
		s.publishLocked(EventDeleted, orig)
	case msg.ReplaceOriginal:
		orig.Text, orig.Blocks, orig.Edited = msg.Text, blocks, true
		s.publishLocked(EventUpdated, orig)
	default:
		thread := ""
		if msg.ThreadTS != "" {
			var code string
			if thread, code = s.threadRootLocked(ch, msg.ThreadTS); code != "" {
				h.uses--
				return http.StatusNotFound, code
			}
		}
		m := &Message{Channel: h.channel, TS: s.newTSLocked(), ThreadTS: thread, Text: msg.Text, Blocks: blocks}
		kind := EventPosted
		if msg.ResponseType == "in_channel" {
			m.User = s.opts.BotUserID
		} else {
			m.User, m.Ephemeral, m.VisibleTo, kind = h.user, true, h.user, EventEphemeral
		}
		ch.msgs = append(ch.msgs, m)
		if h.followsLast {
			h.original = m.TS
		}
		s.publishLocked(kind, m)
	}
	return http.StatusOK, ""
}
