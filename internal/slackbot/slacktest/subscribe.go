package slacktest

import "sync"

// EventKind says what happened to a message.
type EventKind string

// The kinds of change Subscribe delivers.
const (
	// EventPosted is a new message visible to everyone (thread replies included).
	EventPosted EventKind = "posted"
	// EventEphemeral is a new ephemeral message, visible to Message.VisibleTo.
	EventEphemeral EventKind = "ephemeral"
	// EventUpdated is a message edited in place (chat.update or replace_original).
	EventUpdated EventKind = "updated"
	// EventDeleted is a message deleted (chat.delete or delete_original).
	EventDeleted EventKind = "deleted"
)

// Event is one change to a channel, with the message as it is after the change.
type Event struct {
	// Kind is what happened.
	Kind EventKind
	// Message is the message after the change; Message.Channel names the channel.
	Message Message
}

// subscriber queues events without bound so that a slow reader never holds
// up the fake, and hands them on in order.
type subscriber struct {
	out  chan Event
	mu   sync.Mutex
	q    []Event
	wake chan struct{} // one-slot: events are queued
	quit chan struct{}
	once sync.Once
}

// push queues e; it never blocks.
func (sub *subscriber) push(e Event) {
	sub.mu.Lock()
	sub.q = append(sub.q, e)
	sub.mu.Unlock()
	select {
	case sub.wake <- struct{}{}:
	default:
	}
}

// stop ends the pump, which then closes out.
func (sub *subscriber) stop() {
	sub.once.Do(func() { close(sub.quit) })
}

// pump moves queued events to out until stopped.
func (sub *subscriber) pump() {
	defer close(sub.out)
	for {
		sub.mu.Lock()
		q := sub.q
		sub.q = nil
		sub.mu.Unlock()
		for _, e := range q {
			select {
			case sub.out <- e:
			case <-sub.quit:
				return
			}
		}
		select {
		case <-sub.wake:
		case <-sub.quit:
			return
		}
	}
}

// Subscribe returns every change to every channel from now on, in order, for
// a live view such as the sandbox page. Events queue without bound until
// read. cancel stops the subscription and closes the channel; Close does too.
func (s *Server) Subscribe() (<-chan Event, func()) {
	sub := &subscriber{
		out:  make(chan Event),
		wake: make(chan struct{}, 1),
		quit: make(chan struct{}),
	}
	s.mu.Lock()
	if !s.goLocked(sub.pump) {
		s.mu.Unlock()
		close(sub.out)
		return sub.out, func() {}
	}
	s.subs[sub] = struct{}{}
	s.mu.Unlock()
	cancel := func() {
		s.mu.Lock()
		delete(s.subs, sub)
		s.mu.Unlock()
		sub.stop()
	}
	return sub.out, cancel
}

// publishLocked records a change: subscribers get it and waiters wake.
// s.mu must be held.
func (s *Server) publishLocked(kind EventKind, m *Message) {
	e := Event{Kind: kind, Message: *m}
	for sub := range s.subs {
		sub.push(e)
	}
	s.signalLocked()
}
