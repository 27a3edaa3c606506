package slacktest

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// maxConnections is Slack's limit on open Socket Mode connections per app.
const maxConnections = 10

// writeWait bounds every write to a socket, so a stuck client cannot hold the fake.
const writeWait = 5 * time.Second

// conn is one open Socket Mode WebSocket.
type conn struct {
	id   int
	ws   *websocket.Conn
	wmu  sync.Mutex // gorilla allows one writer of data frames at a time
	stop chan struct{}
	once sync.Once
}

// writeText sends one text frame.
func (c *conn) writeText(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.writeTextLocked(b)
}

// writeTextLocked sends one text frame; c.wmu must be held.
func (c *conn) writeTextLocked(b []byte) error {
	_ = c.ws.SetWriteDeadline(time.Now().Add(writeWait))
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

// ping sends a PING control frame; WriteControl may run alongside other writes.
func (c *conn) ping(n int) error {
	return c.ws.WriteControl(websocket.PingMessage, []byte(strconv.Itoa(n)), time.Now().Add(writeWait))
}

// close closes the socket without a close frame and stops its pinger.
func (c *conn) close() {
	c.once.Do(func() {
		close(c.stop)
		_ = c.ws.Close()
	})
}

// checkOrigin accepts slack-go, which sends Origin: https://api.slack.com,
// and clients that send no Origin at all.
func checkOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	return o == "" || o == "https://api.slack.com"
}

// appsConnectionsOpen issues a one-time ticket for the Socket Mode endpoint.
// https://api.slack.com/methods/apps.connections.open
func (s *Server) appsConnectionsOpen(in *apiRequest) (map[string]any, string) {
	if len(s.conns) >= maxConnections {
		return nil, "too_many_websockets"
	}
	ticket := newUUID()
	s.tickets[ticket] = true
	scheme := "ws"
	if in.r.TLS != nil {
		scheme = "wss"
	}
	if s.base == "" {
		// Mounted on another server without Options.BaseURL: response URLs
		// point at the host the bot reached.
		s.base = strings.Replace(scheme, "ws", "http", 1) + "://" + in.r.Host
	}
	return map[string]any{
		"url": scheme + "://" + in.r.Host + Prefix + "link/?ticket=" + ticket + "&app_id=" + s.opts.AppID,
	}, ""
}

// serveLink upgrades a request bearing a fresh ticket to a Socket Mode
// connection: hello, an immediate PING, then PINGs every PingInterval while
// acks are read.
func (s *Server) serveLink(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	s.mu.Lock()
	valid := s.tickets[ticket]
	delete(s.tickets, ticket)
	s.mu.Unlock()
	if !valid {
		http.Error(w, "invalid_ticket", http.StatusUnauthorized)
		return
	}
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	c := &conn{ws: ws, stop: make(chan struct{})}

	// Holding the write lock while c joins the pool keeps any envelope
	// behind hello.
	c.wmu.Lock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		c.wmu.Unlock()
		c.close()
		return
	}
	s.connsSeen++
	c.id = s.connsSeen
	s.conns = append(s.conns, c)
	hello, _ := json.Marshal(map[string]any{
		"type":            "hello",
		"num_connections": len(s.conns),
		"connection_info": map[string]string{"app_id": s.opts.AppID},
		"debug_info": map[string]any{
			"host":                        "applink-slacktest",
			"build_number":                1,
			"approximate_connection_time": 18060,
		},
	})
	s.goLocked(func() { s.readAcks(c) })
	s.goLocked(func() { s.pingLoop(c) })
	s.signalLocked()
	s.mu.Unlock()

	err = c.writeTextLocked(hello)
	if err == nil {
		// slack-go's watchdog starts at connect, so the first PING goes out at once.
		err = c.ping(0)
	}
	c.wmu.Unlock()
	if err != nil {
		s.dropConn(c)
	}
}

// pingLoop pings c every PingInterval until it closes.
func (s *Server) pingLoop(c *conn) {
	t := time.NewTicker(s.opts.PingInterval)
	defer t.Stop()
	for n := 1; ; n++ {
		select {
		case <-c.stop:
			return
		case <-t.C:
			if c.ping(n) != nil {
				s.dropConn(c)
				return
			}
		}
	}
}

// readAcks reads frames from c until it fails, recording each ack.
func (s *Server) readAcks(c *conn) {
	defer s.dropConn(c)
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		var a struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if json.Unmarshal(data, &a) != nil || a.EnvelopeID == "" {
			continue // not an ack; Slack ignores such frames too
		}
		s.recordAck(c.id, a.EnvelopeID, a.Payload)
	}
}

// dropConn forgets c and closes it. It is safe to call more than once.
func (s *Server) dropConn(c *conn) {
	s.mu.Lock()
	if i := slices.Index(s.conns, c); i >= 0 {
		s.conns = slices.Delete(s.conns, i, i+1)
		s.signalLocked()
	}
	s.mu.Unlock()
	c.close()
}

// Disconnect asks every client to reconnect, as Slack does when it refreshes
// sockets: a {"type":"disconnect","reason":reason} frame, a close frame, then
// the socket is closed. Reasons Slack uses are "warning", "refresh_requested"
// and "link_disabled". slack-go opens a new connection at once.
func (s *Server) Disconnect(reason string) {
	msg, _ := json.Marshal(map[string]any{
		"type":       "disconnect",
		"reason":     reason,
		"debug_info": map[string]string{"host": "applink-slacktest"},
	})
	bye := websocket.FormatCloseMessage(websocket.CloseNormalClosure, reason)
	for _, c := range s.openConns() {
		_ = c.writeText(msg)
		_ = c.ws.WriteControl(websocket.CloseMessage, bye, time.Now().Add(writeWait))
		s.dropConn(c)
	}
}

// DropConnections closes every socket abruptly, with no disconnect or close
// frame, as a network failure would.
func (s *Server) DropConnections() {
	for _, c := range s.openConns() {
		s.dropConn(c)
	}
}

// openConns returns a copy of the open connections.
func (s *Server) openConns() []*conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.conns)
}

// SendRaw writes frame, byte for byte, to one open connection, round-robin,
// after that connection's hello: a frame that is not JSON, an envelope of a
// type slack-go does not know, or one whose payload does not decode. A frame
// that is a JSON object with a string envelope_id is recorded as an envelope,
// so WaitAck, Redeliver and AckedIDs work for it, and its id is returned;
// otherwise the id is "".
func (s *Server) SendRaw(frame []byte) (string, error) {
	env := &envelope{frame: slices.Clone(frame)}
	var fields map[string]json.RawMessage
	if json.Unmarshal(frame, &fields) == nil {
		_ = json.Unmarshal(fields["envelope_id"], &env.ID)
		_ = json.Unmarshal(fields["type"], &env.Type)
		env.Payload = slices.Clone(fields["payload"])
	}
	if env.ID != "" {
		s.mu.Lock()
		s.envelopes[env.ID] = env
		s.mu.Unlock()
	}
	return env.ID, s.deliver(env)
}

// AckedIDs returns the ids of the envelopes acknowledged so far, each once,
// in the order of their first ack.
func (s *Server) AckedIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for _, a := range s.acks {
		if !slices.Contains(ids, a.EnvelopeID) {
			ids = append(ids, a.EnvelopeID)
		}
	}
	return ids
}
