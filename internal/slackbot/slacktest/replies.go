package slacktest

import (
	"strconv"
)

// repliesPage is how many messages conversations.replies answers at most
// when no limit is asked for (Slack's default is 1000; tests ask for less).
const repliesPage = 1000

// conversationsReplies lists a thread: its parent first, then the replies
// everyone sees, oldest first, a page at a time (the cursor is an offset).
// https://api.slack.com/methods/conversations.replies
func (s *Server) conversationsReplies(in *apiRequest) (map[string]any, string) {
	ch := s.findChannelLocked(in.get("channel"))
	switch {
	case ch == nil || !ch.known:
		return nil, "channel_not_found"
	case !ch.botMember:
		return nil, "not_in_channel"
	}
	parent := s.messageLocked(ch.id, in.get("ts"))
	if parent == nil || parent.Ephemeral || parent.Deleted {
		return nil, "thread_not_found"
	}
	root := parent.TS
	if parent.ThreadTS != "" {
		root = parent.ThreadTS
		parent = s.messageLocked(ch.id, root)
	}
	thread := []*Message{parent}
	for _, m := range ch.msgs {
		if m.ThreadTS == root && !m.Ephemeral && !m.Deleted {
			thread = append(thread, m)
		}
	}
	limit := repliesPage
	if v := in.get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, "invalid_limit"
		}
		limit = min(n, repliesPage)
	}
	from := 0
	if c := in.get("cursor"); c != "" {
		n, err := strconv.Atoi(c)
		if err != nil || n < 0 || n > len(thread) {
			return nil, "invalid_cursor"
		}
		from = n
	}
	to := min(from+limit, len(thread))
	msgs := make([]map[string]any, 0, to-from)
	for _, m := range thread[from:to] {
		msgs = append(msgs, s.wireMessage(m))
	}
	next := ""
	if to < len(thread) {
		next = strconv.Itoa(to)
	}
	return map[string]any{"messages": msgs, "has_more": next != "", "response_metadata": map[string]string{"next_cursor": next}}, ""
}
