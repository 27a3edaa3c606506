// Package slacktest is a wire-level fake Slack. It speaks Socket Mode over a
// real WebSocket and the Web API over real HTTP, so the unmodified slack-go
// client (slack.New with OptionAPIURL, plus socketmode.New) runs against it.
//
// The fake keeps the channel as a person would see it (messages, edits,
// thread replies, ephemerals), records everything it was sent (Web API calls,
// Socket Mode acks) and injects the failures real Slack produces (429s, 5xx,
// slowness, disconnects). It does not depend on package testing: end-to-end
// tests use Start, and the sandbox demo mounts a Server on its own mux and
// renders the channel from Subscribe.
package slacktest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Prefix is the path under which a Server serves everything: the Web API at
// Prefix+"api/", the Socket Mode endpoint at Prefix+"link/" and response URLs
// at Prefix+"response/". Mount a Server on another mux with
// mux.Handle(slacktest.Prefix, srv).
const Prefix = "/slack/"

// Errors returned by the envelope senders and waiters.
var (
	// ErrClosed is returned once Close has been called.
	ErrClosed = errors.New("slacktest: server closed")
	// ErrNoConnection means no Socket Mode connection is open to carry an envelope.
	ErrNoConnection = errors.New("slacktest: no live Socket Mode connection")
	// ErrUnknownEnvelope means Redeliver was given an id the fake never sent.
	ErrUnknownEnvelope = errors.New("slacktest: unknown envelope")
	// ErrMessageNotFound means a click names a message that is not in the channel.
	ErrMessageNotFound = errors.New("slacktest: message not found")
)

// Options configure a Server. Zero fields take the defaults shown.
type Options struct {
	// BotToken is the xoxb- token the Web API accepts. Default "xoxb-slacktest".
	BotToken string
	// AppToken is the xapp- token apps.connections.open accepts. Default "xapp-slacktest".
	AppToken string
	// TeamID is the workspace id in payloads and user records. Default "T0SLACKTEST".
	TeamID string
	// AppID is the app id in hello and payloads. Default "A0SLACKTEST".
	AppID string
	// BotUserID is the user id the bot posts as. Default "U0RELEASEBOT".
	BotUserID string
	// BotID is the bot id auth.test reports. Default "B0RELEASEBOT".
	BotID string
	// PingInterval is how often each socket gets a WebSocket PING; keep it
	// below the client's socketmode.OptionPingInterval (30 s by default).
	// Default 10 s.
	PingInterval time.Duration
	// Clock stamps message timestamps, acks and deliveries, and ages
	// response URLs and trigger ids. Default time.Now. Ack latencies are
	// always measured on the real monotonic clock.
	Clock func() time.Time
	// BaseURL is where the Server is reachable when mounted on another
	// server; it goes into response URLs. Start sets it; when it is empty the
	// host of the last apps.connections.open request is used.
	BaseURL string
	// FreePlan makes usergroups.* answer plan_upgrade_required, as Slack does
	// on workspaces without a paid plan.
	FreePlan bool
	// NoHomeTab makes views.publish answer not_enabled, as Slack does for an
	// app whose manifest does not enable the Home tab.
	NoHomeTab bool
	// MissingScopes are bot scopes the app lacks; a method that needs one
	// answers missing_scope. Only conversations.open (im:write) looks.
	MissingScopes []string
	// TeamDomain is the workspace's subdomain in permalinks. Default "slacktest".
	TeamDomain string
}

func (o *Options) applyDefaults() {
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&o.BotToken, "xoxb-slacktest")
	def(&o.AppToken, "xapp-slacktest")
	def(&o.TeamID, "T0SLACKTEST")
	def(&o.AppID, "A0SLACKTEST")
	def(&o.BotUserID, "U0RELEASEBOT")
	def(&o.BotID, "B0RELEASEBOT")
	def(&o.TeamDomain, "slacktest")
	if o.PingInterval <= 0 {
		o.PingInterval = 10 * time.Second
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	o.BaseURL = strings.TrimSuffix(o.BaseURL, "/")
}

// Server is a fake Slack workspace with one app installed. It implements
// http.Handler for paths under Prefix. All methods are safe for concurrent use.
type Server struct {
	opts     Options
	upgrader websocket.Upgrader

	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every change, for WaitFor
	done    chan struct{} // closed by Close
	closed  bool
	wg      sync.WaitGroup // every goroutine the Server starts
	httpSrv *httptest.Server
	base    string

	// Socket Mode.
	tickets   map[string]bool
	conns     []*conn // open, in order of opening
	connsSeen int
	rr        int
	envelopes map[string]*envelope
	acks      []Ack

	// Web API.
	calls   []*Call
	faults  map[string]*fault
	holds   []holdOn
	latency time.Duration // of every Web API call, unless its method's fault says

	// Workspace.
	users    map[string]User
	groups   []*usergroup
	channels map[string]*channel
	chanList []string
	ims      map[string]string // user id → the bot's direct message with them
	lastTS   int64
	hooks    map[string]*hook
	triggers map[string]trigger
	views    []View
	homes    map[string]*homeView
	subs     map[*subscriber]struct{}
}

// New returns a Server that is not yet listening: call Start, or mount it
// under Prefix on another server. The bot user is registered as a user.
func New(opts Options) *Server {
	opts.applyDefaults()
	s := &Server{
		opts:      opts,
		changed:   make(chan struct{}),
		done:      make(chan struct{}),
		base:      opts.BaseURL,
		tickets:   map[string]bool{},
		envelopes: map[string]*envelope{},
		faults:    map[string]*fault{},
		users:     map[string]User{},
		channels:  map[string]*channel{},
		ims:       map[string]string{},
		hooks:     map[string]*hook{},
		triggers:  map[string]trigger{},
		homes:     map[string]*homeView{},
		subs:      map[*subscriber]struct{}{},
	}
	s.upgrader = websocket.Upgrader{CheckOrigin: checkOrigin}
	s.users[opts.BotUserID] = User{ID: opts.BotUserID, Name: "release-bot", IsBot: true, TeamID: opts.TeamID}
	return s
}

// Start serves the fake on a new local listener and returns its base URL
// (http://127.0.0.1:PORT). Calling it twice returns the same URL.
func (s *Server) Start() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.httpSrv != nil || s.closed {
		return s.base
	}
	s.httpSrv = httptest.NewServer(s)
	s.base = s.httpSrv.URL
	return s.base
}

// URL returns the base URL set by Start or Options.BaseURL.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.base
}

// APIURL returns the Web API base for slack.OptionAPIURL, with the trailing
// slash slack-go needs (it appends the method name).
func (s *Server) APIURL() string {
	return s.URL() + Prefix + "api/"
}

// Options returns the options in effect, defaults filled in.
func (s *Server) Options() Options {
	return s.opts
}

// Close ends every socket, subscription and goroutine of the Server and
// stops its listener. Waiters return ErrClosed. It is safe to call twice.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.done)
	conns := s.conns
	s.conns = nil
	subs := make([]*subscriber, 0, len(s.subs))
	for sub := range s.subs {
		subs = append(subs, sub)
	}
	s.subs = map[*subscriber]struct{}{}
	srv := s.httpSrv
	s.signalLocked()
	s.mu.Unlock()

	for _, c := range conns {
		c.close()
	}
	for _, sub := range subs {
		sub.stop()
	}
	if srv != nil {
		srv.Close()
	}
	s.wg.Wait()
}

// ServeHTTP routes requests under Prefix to the Web API, the Socket Mode
// endpoint and response URLs.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, Prefix)
	if !ok {
		http.NotFound(w, r)
		return
	}
	switch {
	case strings.HasPrefix(rest, "api/"):
		s.serveAPI(w, r, strings.TrimPrefix(rest, "api/"))
	case rest == "link/" || rest == "link":
		s.serveLink(w, r)
	case strings.HasPrefix(rest, "response/"):
		s.serveResponseURL(w, r, strings.TrimPrefix(rest, "response/"))
	default:
		http.NotFound(w, r)
	}
}

// goLocked runs f on a goroutine that Close waits for. It reports false,
// and does not run f, once the Server is closed. s.mu must be held.
func (s *Server) goLocked(f func()) bool {
	if s.closed {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
	return true
}

// signalLocked wakes every WaitFor. s.mu must be held.
func (s *Server) signalLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// now reads the injected clock.
func (s *Server) now() time.Time {
	return s.opts.Clock()
}

// newTSLocked returns a Slack timestamp ("seconds.micros") from the clock,
// strictly increasing across the Server so that every ts is unique even
// when the clock stands still. s.mu must be held.
func (s *Server) newTSLocked() string {
	us := s.now().UnixMicro()
	if us <= s.lastTS {
		us = s.lastTS + 1
	}
	s.lastTS = us
	return fmt.Sprintf("%d.%06d", us/1_000_000, us%1_000_000)
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// newUUID returns a random version 4 UUID, the form of Slack's envelope ids.
func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// newSlackID returns an id such as "V0A1B2C3D4E5" with the given type letter.
func newSlackID(letter string) string {
	return letter + "0" + strings.ToUpper(randomHex(5))
}
