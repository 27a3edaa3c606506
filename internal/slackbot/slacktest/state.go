package slacktest

import (
	"context"
	"encoding/json"
	"slices"
)

// Message is a message as it stands in a channel.
type Message struct {
	// Channel is the channel id.
	Channel string
	// TS is the message's timestamp, its id within the channel.
	TS string
	// ThreadTS is the parent's ts for a thread reply, empty otherwise.
	ThreadTS string
	// User is the bot user id for the bot's messages; for an ephemeral it is
	// the user who sees it.
	User string
	// Text is the text (the fallback, when there are blocks).
	Text string
	// Blocks is the Block Kit JSON array as sent, nil when there are none.
	Blocks json.RawMessage
	// Ephemeral is true for a message only VisibleTo can see.
	Ephemeral bool
	// VisibleTo is the one user who sees an ephemeral message.
	VisibleTo string
	// Edited is true once the message has been updated or replaced.
	Edited bool
	// Deleted is true once the message has been deleted.
	Deleted bool
}

// channel is one conversation.
type channel struct {
	id, name  string
	known     bool // added with AddChannel or SetBotMember
	botMember bool
	imUser    string     // for a direct message (D…), the user it is with
	msgs      []*Message // every message, in posting order
}

// AddChannel creates a channel with the bot as a member. Posting to a
// channel the fake does not know answers channel_not_found.
func (s *Server) AddChannel(id, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channelLocked(id)
	ch.name = name
	ch.known, ch.botMember = true, true
	s.signalLocked()
}

// SetBotMember adds the bot to a channel or removes it; posting to a channel
// the bot is not in answers not_in_channel.
func (s *Server) SetBotMember(channelID string, member bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channelLocked(channelID)
	ch.known, ch.botMember = true, member
	s.signalLocked()
}

// channelLocked returns the channel, creating an unnamed one the bot is not
// in when it is new. s.mu must be held.
func (s *Server) channelLocked(id string) *channel {
	ch, ok := s.channels[id]
	if !ok {
		ch = &channel{id: id}
		s.channels[id] = ch
		s.chanList = append(s.chanList, id)
	}
	return ch
}

// findChannelLocked resolves a channel id, "#name" or "name". s.mu must be held.
func (s *Server) findChannelLocked(ref string) *channel {
	if ch, ok := s.channels[ref]; ok {
		return ch
	}
	name := ref
	if len(name) > 0 && name[0] == '#' {
		name = name[1:]
	}
	for _, id := range s.chanList {
		if ch := s.channels[id]; ch.name != "" && ch.name == name {
			return ch
		}
	}
	return nil
}

// messageLocked finds a message by ts, deleted ones included. s.mu must be held.
func (s *Server) messageLocked(channelID, ts string) *Message {
	ch, ok := s.channels[channelID]
	if !ok {
		return nil
	}
	for _, m := range ch.msgs {
		if m.TS == ts {
			return m
		}
	}
	return nil
}

// State is a read-only view of the fake, handed to WaitFor predicates while
// the Server's lock is held. Use only its methods inside a predicate:
// calling the Server from there deadlocks.
type State struct {
	s *Server
}

// state returns the view. s.mu must be held while it is used.
func (s *Server) state() *State {
	return &State{s: s}
}

// read runs f on the state under the lock.
func read[T any](s *Server, f func(*State) T) T {
	s.mu.Lock()
	defer s.mu.Unlock()
	return f(s.state())
}

// filter copies the channel's messages that keep returns true for.
func (st *State) filter(channelID string, keep func(*Message) bool) []Message {
	ch, ok := st.s.channels[channelID]
	if !ok {
		return nil
	}
	var out []Message
	for _, m := range ch.msgs {
		if keep(m) {
			out = append(out, *m)
		}
	}
	return out
}

// Messages returns what everyone sees in the channel: its top-level,
// non-ephemeral, undeleted messages, oldest first.
func (st *State) Messages(channelID string) []Message {
	return st.filter(channelID, func(m *Message) bool {
		return !m.Ephemeral && !m.Deleted && m.ThreadTS == ""
	})
}

// Thread returns the undeleted, non-ephemeral replies to the message ts,
// oldest first, without the parent.
func (st *State) Thread(channelID, ts string) []Message {
	return st.filter(channelID, func(m *Message) bool {
		return !m.Ephemeral && !m.Deleted && m.ThreadTS == ts
	})
}

// Ephemerals returns the undeleted ephemeral messages the user sees in the
// channel, thread ones included, oldest first.
func (st *State) Ephemerals(channelID, userID string) []Message {
	return st.filter(channelID, func(m *Message) bool {
		return m.Ephemeral && !m.Deleted && m.VisibleTo == userID
	})
}

// History returns every message ever posted in the channel, deleted and
// ephemeral ones and thread replies included, in posting order.
func (st *State) History(channelID string) []Message {
	return st.filter(channelID, func(*Message) bool { return true })
}

// Message returns the message with the ts, whatever its kind or state.
func (st *State) Message(channelID, ts string) (Message, bool) {
	if m := st.s.messageLocked(channelID, ts); m != nil {
		return *m, true
	}
	return Message{}, false
}

// Acks returns every ack received, in order.
func (st *State) Acks() []Ack {
	return slices.Clone(st.s.acks)
}

// Envelope returns the record of a sent envelope.
func (st *State) Envelope(envelopeID string) (Envelope, bool) {
	env, ok := st.s.envelopes[envelopeID]
	if !ok {
		return Envelope{}, false
	}
	e := env.Envelope
	e.Deliveries = slices.Clone(e.Deliveries)
	return e, true
}

// Connections returns the ids of the open Socket Mode connections, oldest
// first. Envelopes sent to a connection always follow its hello.
func (st *State) Connections() []int {
	var ids []int
	for _, c := range st.s.conns {
		ids = append(ids, c.id)
	}
	return ids
}

// ConnectionsOpened returns how many Socket Mode connections were ever opened.
func (st *State) ConnectionsOpened() int {
	return st.s.connsSeen
}

// Calls returns the recorded Web API calls of one method ("chat.postMessage",
// or "response_url" for response URL posts), oldest first.
func (st *State) Calls(method string) []Call {
	var out []Call
	for _, c := range st.s.calls {
		if c.Method == method {
			out = append(out, c.clone())
		}
	}
	return out
}

// Views returns the views opened with views.open, oldest first.
func (st *State) Views() []View {
	return slices.Clone(st.s.views)
}

// Messages returns what everyone sees in the channel; see State.Messages.
func (s *Server) Messages(channelID string) []Message {
	return read(s, func(st *State) []Message { return st.Messages(channelID) })
}

// Thread returns the replies to a message; see State.Thread.
func (s *Server) Thread(channelID, ts string) []Message {
	return read(s, func(st *State) []Message { return st.Thread(channelID, ts) })
}

// Ephemerals returns the ephemerals a user sees; see State.Ephemerals.
func (s *Server) Ephemerals(channelID, userID string) []Message {
	return read(s, func(st *State) []Message { return st.Ephemerals(channelID, userID) })
}

// History returns every message ever posted in the channel; see State.History.
func (s *Server) History(channelID string) []Message {
	return read(s, func(st *State) []Message { return st.History(channelID) })
}

// Message returns one message by ts; see State.Message.
func (s *Server) Message(channelID, ts string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state().Message(channelID, ts)
}

// Connections returns the ids of the open connections; see State.Connections.
func (s *Server) Connections() []int {
	return read(s, (*State).Connections)
}

// Calls returns the recorded calls of a method; see State.Calls.
func (s *Server) Calls(method string) []Call {
	return read(s, func(st *State) []Call { return st.Calls(method) })
}

// Views returns the views opened with views.open.
func (s *Server) Views() []View {
	return read(s, (*State).Views)
}

// WaitFor waits until pred holds, evaluating it now and after every change
// to the fake (a message, an ack, a call, a connection). It returns
// ctx.Err() when ctx ends first and ErrClosed when the Server closes. pred
// runs with the Server locked: it must use only its *State.
func (s *Server) WaitFor(ctx context.Context, pred func(*State) bool) error {
	for {
		s.mu.Lock()
		ok := pred(s.state())
		changed, closed := s.changed, s.closed
		s.mu.Unlock()
		switch {
		case ok:
			return nil
		case closed:
			return ErrClosed
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
