package slacktest

import (
	"slices"
	"strings"
)

// maxOpenUsers is how many users conversations.open takes at once
// (https://api.slack.com/methods/conversations.open: "Provide 1 to 8 user
// IDs"; too_many_users past it).
const maxOpenUsers = 8

// conversationsOpen opens (or finds again) the bot's direct message with one
// user, as Slack does: users is a comma-separated list of user ids, or
// channel an im's id to resume; the same user always gets the same D…
// channel, answered with already_open (and no_op) the second time. A bot
// token without im:write answers missing_scope. The fake opens 1:1 DMs
// only: a multi-person DM (more than one user) answers
// slacktest_mpim_not_supported, which no real Slack says, so that a test
// relying on one fails loudly.
// https://api.slack.com/methods/conversations.open
func (s *Server) conversationsOpen(in *apiRequest) (map[string]any, string) {
	if slices.Contains(s.opts.MissingScopes, "im:write") {
		return nil, "missing_scope"
	}
	if id := in.get("channel"); id != "" && !in.has("users") {
		ch := s.channels[id]
		if ch == nil || ch.imUser == "" {
			return nil, "channel_not_found"
		}
		return map[string]any{"channel": map[string]any{"id": ch.id}, "no_op": true, "already_open": true}, ""
	}
	var ids []string
	for _, id := range strings.Split(in.get("users"), ",") {
		if id = strings.TrimSpace(id); id != "" {
			ids = append(ids, id)
		}
	}
	switch {
	case len(ids) == 0:
		return nil, "users_list_not_supplied"
	case len(ids) > maxOpenUsers:
		return nil, "too_many_users"
	}
	for _, id := range ids {
		u, ok := s.users[id]
		switch {
		case !ok:
			return nil, "user_not_found"
		case u.Deleted:
			return nil, "user_disabled"
		}
	}
	if len(ids) > 1 {
		return nil, "slacktest_mpim_not_supported"
	}
	user := ids[0]
	if id, ok := s.ims[user]; ok {
		return map[string]any{"channel": map[string]any{"id": id}, "no_op": true, "already_open": true}, ""
	}
	id := newSlackID("D")
	ch := s.channelLocked(id)
	ch.known, ch.botMember, ch.imUser = true, true, user
	s.ims[user] = id
	s.signalLocked()
	return map[string]any{"channel": map[string]any{"id": id}}, ""
}

// chatGetPermalink links a message that exists (not deleted, not an
// ephemeral), in the form Slack gives: the workspace's domain, the channel,
// "p" and the ts without its dot, and for a thread reply its parent and
// channel as thread_ts and cid.
// https://api.slack.com/methods/chat.getPermalink
func (s *Server) chatGetPermalink(in *apiRequest) (map[string]any, string) {
	ch := s.findChannelLocked(in.get("channel"))
	if ch == nil || !ch.known {
		return nil, "channel_not_found"
	}
	m := s.messageLocked(ch.id, in.get("message_ts"))
	if m == nil || m.Deleted || m.Ephemeral {
		return nil, "message_not_found"
	}
	return map[string]any{"channel": ch.id, "permalink": s.permalinkLocked(m)}, ""
}

// permalinkLocked is the link chat.getPermalink gives for m.
func (s *Server) permalinkLocked(m *Message) string {
	link := "https://" + s.opts.TeamDomain + ".slack.com/archives/" + m.Channel + "/p" + strings.ReplaceAll(m.TS, ".", "")
	if m.ThreadTS != "" {
		link += "?thread_ts=" + m.ThreadTS + "&cid=" + m.Channel
	}
	return link
}

// DMs returns the messages the bot sent the user in their direct message,
// oldest first; none when it never opened one.
func (st *State) DMs(userID string) []Message {
	id, ok := st.s.ims[userID]
	if !ok {
		return nil
	}
	return st.filter(id, func(m *Message) bool { return !m.Deleted && !m.Ephemeral })
}

// DMs returns the bot's direct messages to a user; see State.DMs.
func (s *Server) DMs(userID string) []Message {
	return read(s, func(st *State) []Message { return st.DMs(userID) })
}

// Permalink is the link chat.getPermalink gives for a message, "" when
// there is no such message.
func (s *Server) Permalink(channelID, ts string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.messageLocked(channelID, ts); m != nil {
		return s.permalinkLocked(m)
	}
	return ""
}
