// Package sandbox serves the web page of `bot sandbox`: the release channel
// of a fake Slack (slacktest) shown in a browser as Slack would show it, live,
// with a command box, a switch to act as another user, working buttons and
// dialogs, and the app's Home tab. Everything the page does goes to the fake as the envelopes Slack
// would send, so the bot on the other end runs unchanged.
//
// The page is one HTML file, one script and one style sheet, embedded; it
// loads nothing from elsewhere and works offline.
package sandbox

import (
	"embed"
	"io/fs"
	"net/http"
	"sync"

	"github.com/rs/zerolog"

	"github.com/release-bot/release-bot/internal/slackbot/slacktest"
)

// Prefix is the path the page is served under. Mount the handler with
// mux.Handle(sandbox.Prefix, h); http.ServeMux then redirects "/sandbox" here.
const Prefix = "/sandbox/"

// Roles a sandbox user plays; the page shows them next to the name.
const (
	RoleProposer = "proposer"
	RoleApprover = "approver"
	RoleGuest    = "guest"
)

// User is someone the page can act as.
type User struct {
	// ID is the Slack user id ("U…"), known to the fake.
	ID string `json:"id"`
	// Name is the handle shown for the user and for mentions of them.
	Name string `json:"name"`
	// Role is RoleProposer, RoleApprover or RoleGuest.
	Role string `json:"role"`
}

// Page is the sandbox page over one channel of a fake Slack.
type Page struct {
	// Slack is the fake the bot is connected to.
	Slack *slacktest.Server
	// Channel is the release channel's id.
	Channel string
	// ChannelName is shown as "#name" and for mentions of the channel;
	// empty shows the id.
	ChannelName string
	// Users are the people the page can act as, the first one by default.
	Users []User
	// Logger receives failures the page could not explain to its user.
	Logger zerolog.Logger
	// Done, when closed, ends the open event streams, so that an
	// http.Server's Shutdown does not wait for browsers to go away. Nil:
	// streams end when the browser leaves or the fake closes.
	Done <-chan struct{}
}

//go:embed assets
var assets embed.FS

// handler serves one Page.
type handler struct {
	page  Page
	users map[string]User

	mu     sync.Mutex
	closed map[string]bool // view ids submitted or dismissed on the page
}

// Handler returns the page's routes, all under Prefix:
//
//	GET  /sandbox/                the page
//	GET  /sandbox/assets/…        its script and style sheet
//	GET  /sandbox/state?user=U…   the channel as that user sees it (JSON)
//	GET  /sandbox/events?user=U…  the same, then every change (server-sent events)
//	                              (without ?user=, both are for the first user)
//	POST /sandbox/command         {user, text}: a slash command
//	POST /sandbox/click           {user, ts, action_id, block_id, value}: a button click
//	POST /sandbox/home            {user}: the user opens the app's Home tab
//	POST /sandbox/home-click      {user, action_id, block_id, value}: a click on it
//	POST /sandbox/submit          {user, view_id, values}: a dialog submitted
//	POST /sandbox/dismiss         {user, view_id}: a dialog closed
//
// The Page is copied: changing it afterwards has no effect.
func (p *Page) Handler() http.Handler {
	h := &handler{page: *p, users: map[string]User{}, closed: map[string]bool{}}
	for _, u := range p.Users {
		h.users[u.ID] = u
	}
	static, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /sandbox/{$}", h.index)
	mux.Handle("GET /sandbox/assets/", http.StripPrefix("/sandbox/assets/", http.FileServerFS(static)))
	mux.HandleFunc("GET /sandbox/state", h.state)
	mux.HandleFunc("GET /sandbox/events", h.events)
	mux.HandleFunc("POST /sandbox/command", h.command)
	mux.HandleFunc("POST /sandbox/click", h.click)
	mux.HandleFunc("POST /sandbox/home", h.home)
	mux.HandleFunc("POST /sandbox/home-click", h.homeClick)
	mux.HandleFunc("POST /sandbox/submit", h.submit)
	mux.HandleFunc("POST /sandbox/dismiss", h.dismiss)
	return secure(mux)
}

// secure adds headers that keep the page's own resources the only ones it
// runs: even an escaping bug in the renderer cannot load or run a script.
func secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy",
			"default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

// index serves the page itself.
func (h *handler) index(w http.ResponseWriter, _ *http.Request) {
	body, err := assets.ReadFile("assets/index.html")
	if err != nil {
		http.Error(w, "page missing", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(body)
}

// user resolves a user id the page may act as.
func (h *handler) user(id string) (User, bool) {
	u, ok := h.users[id]
	return u, ok
}

// markClosed records that a view is no longer shown; it reports false when
// it already was closed.
func (h *handler) markClosed(viewID string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed[viewID] {
		return false
	}
	h.closed[viewID] = true
	return true
}

// isClosed reports whether a view was submitted or dismissed on the page.
func (h *handler) isClosed(viewID string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.closed[viewID]
}
