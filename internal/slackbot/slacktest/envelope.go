package slacktest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Envelope is one Socket Mode envelope the fake sent, with every delivery of it.
type Envelope struct {
	// ID is the envelope_id.
	ID string
	// Type is "slash_commands", "interactive", "events_api", ...
	Type string
	// Payload is the payload as sent.
	Payload json.RawMessage
	// Deliveries lists each time it was written to a socket, first one first.
	Deliveries []Delivery
}

// Delivery is one write of an envelope to a socket.
type Delivery struct {
	// ConnID identifies the connection (1 for the first one opened, and so on).
	ConnID int
	// SentAt is the Clock's time of the write.
	SentAt time.Time
}

// Ack is an acknowledgement read from a socket.
type Ack struct {
	// EnvelopeID is the envelope it acknowledges.
	EnvelopeID string
	// Payload is the optional response payload, nil when absent.
	Payload json.RawMessage
	// ConnID is the connection it came on.
	ConnID int
	// ReceivedAt is the Clock's time of the read.
	ReceivedAt time.Time
	// Latency is the real time from the envelope's latest delivery to this
	// ack, measured at the fake; zero for an envelope the fake never sent.
	Latency time.Duration
}

// envelope is the fake's record of a sent envelope.
type envelope struct {
	Envelope
	frame []byte
	mono  time.Time // real time of the latest delivery
}

// SendEnvelope sends an envelope with the given type and payload to one open
// connection, round-robin, after that connection's hello, and returns its envelope_id. Slash commands and
// view submissions accept a response payload, as on Slack.
func (s *Server) SendEnvelope(typ string, payload json.RawMessage) (string, error) {
	if !json.Valid(payload) {
		return "", fmt.Errorf("slacktest: envelope payload is not JSON")
	}
	accepts := typ == "slash_commands"
	if typ == "interactive" {
		var p struct {
			Type string `json:"type"`
		}
		_ = json.Unmarshal(payload, &p)
		accepts = p.Type == "view_submission" || p.Type == "block_suggestion"
	}
	id := newUUID()
	frame, err := json.Marshal(struct {
		EnvelopeID             string          `json:"envelope_id"`
		Type                   string          `json:"type"`
		Payload                json.RawMessage `json:"payload"`
		AcceptsResponsePayload bool            `json:"accepts_response_payload"`
	}{id, typ, payload, accepts})
	if err != nil {
		return "", err
	}
	env := &envelope{Envelope: Envelope{ID: id, Type: typ, Payload: slices.Clone(payload)}, frame: frame}
	s.mu.Lock()
	s.envelopes[id] = env
	s.mu.Unlock()
	return id, s.deliver(env)
}

// Redeliver sends an envelope again, byte for byte, as Slack does after a
// reconnect; it may land on a different connection.
func (s *Server) Redeliver(envelopeID string) error {
	s.mu.Lock()
	env, ok := s.envelopes[envelopeID]
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownEnvelope, envelopeID)
	}
	return s.deliver(env)
}

// deliver writes env to the next ready connection, trying the others if a
// write fails.
func (s *Server) deliver(env *envelope) error {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return ErrClosed
		}
		if len(s.conns) == 0 {
			s.mu.Unlock()
			return ErrNoConnection
		}
		c := s.conns[s.rr%len(s.conns)]
		s.rr++
		// Recorded before the write so that no ack can precede its delivery.
		env.Deliveries = append(env.Deliveries, Delivery{ConnID: c.id, SentAt: s.now()})
		env.mono = time.Now()
		s.signalLocked()
		s.mu.Unlock()

		if err := c.writeText(env.frame); err == nil {
			return nil
		}
		s.dropConn(c)
	}
}

// recordAck stores an ack read from connection connID.
func (s *Server) recordAck(connID int, envelopeID string, payload json.RawMessage) {
	mono := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	a := Ack{EnvelopeID: envelopeID, ConnID: connID, ReceivedAt: s.now()}
	if len(payload) > 0 && string(payload) != "null" {
		a.Payload = slices.Clone(payload)
	}
	if env, ok := s.envelopes[envelopeID]; ok {
		a.Latency = mono.Sub(env.mono)
	}
	s.acks = append(s.acks, a)
	s.signalLocked()
}

// Acks returns every ack received, in order.
func (s *Server) Acks() []Ack {
	return read(s, (*State).Acks)
}

// Envelope returns the record of a sent envelope.
func (s *Server) Envelope(envelopeID string) (Envelope, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state().Envelope(envelopeID)
}

// WaitAck waits until the envelope is acknowledged and returns the first ack.
func (s *Server) WaitAck(ctx context.Context, envelopeID string) (Ack, error) {
	var got Ack
	err := s.WaitFor(ctx, func(st *State) bool {
		for _, a := range st.s.acks {
			if a.EnvelopeID == envelopeID {
				got = a
				return true
			}
		}
		return false
	})
	return got, err
}

// AckLatencies returns, for every ack of an envelope the fake sent, the real
// time from the envelope's latest delivery to the ack: the figure a p99
// benchmark reports.
func (s *Server) AckLatencies() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []time.Duration
	for _, a := range s.acks {
		if _, ok := s.envelopes[a.EnvelopeID]; ok {
			out = append(out, a.Latency)
		}
	}
	return out
}
