package sandbox_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/slack-go/slack"
)

// stateMessage, stateView and state are GET /sandbox/state as the page reads it.
type stateMessage struct {
	TS        string          `json:"ts"`
	ThreadTS  string          `json:"thread_ts"`
	User      string          `json:"user"`
	Text      string          `json:"text"`
	Blocks    json.RawMessage `json:"blocks"`
	Ephemeral bool            `json:"ephemeral"`
	Edited    bool            `json:"edited"`
	Deleted   bool            `json:"deleted"`
}

type stateView struct {
	ID   string          `json:"id"`
	View json.RawMessage `json:"view"`
}

type state struct {
	Channel struct{ ID, Name string }         `json:"channel"`
	Bot     struct{ ID, Name string }         `json:"bot"`
	User    string                            `json:"user"`
	Users   []struct{ ID, Name, Role string } `json:"users"`
	// Messages are in posting order.
	Messages []stateMessage `json:"messages"`
	Views    []stateView    `json:"views"`
}

// state reads GET /sandbox/state with the query.
func (e *env) state(t *testing.T, query string) (int, state) {
	t.Helper()
	res, err := http.Get(e.page + "state" + query)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var st state
	if res.StatusCode == http.StatusOK {
		if err := json.NewDecoder(res.Body).Decode(&st); err != nil {
			t.Fatal(err)
		}
	}
	return res.StatusCode, st
}

// find looks a message up by ts.
func (st state) find(ts string) (stateMessage, bool) {
	for _, m := range st.Messages {
		if m.TS == ts {
			return m, true
		}
	}
	return stateMessage{}, false
}

func TestStateShowsEachUserTheChannelAsTheySeeIt(t *testing.T) {
	e, _ := start(t, false)
	parent := e.post(t, slack.MsgOptionText("Release prod-7", false), slack.MsgOptionBlocks(releaseBlocks("Release prod-7")...))
	reply := e.post(t, slack.MsgOptionText("bob approved (1 of 2)", false), slack.MsgOptionTS(parent))
	edited := e.post(t, slack.MsgOptionText("Deploying", false))
	if _, _, _, err := e.api.UpdateMessage(channelID, edited, slack.MsgOptionText("Deployed", false)); err != nil {
		t.Fatal(err)
	}
	gone := e.post(t, slack.MsgOptionText("a secret", false))
	if _, _, err := e.api.DeleteMessage(channelID, gone); err != nil {
		t.Fatal(err)
	}
	forBob, err := e.api.PostEphemeral(channelID, bob, slack.MsgOptionText("You cannot approve twice.", false))
	if err != nil {
		t.Fatal(err)
	}
	forAlice, err := e.api.PostEphemeral(channelID, alice, slack.MsgOptionText("You proposed it.", false))
	if err != nil {
		t.Fatal(err)
	}

	code, st := e.state(t, "?user="+bob)
	if code != http.StatusOK {
		t.Fatalf("state: %d", code)
	}
	if st.User != bob || st.Channel.ID != channelID || st.Channel.Name != "releases" || st.Bot.Name != "release-bot" || len(st.Users) != len(users) {
		t.Errorf("state header: %+v", st)
	}
	var order []string
	for _, m := range st.Messages {
		order = append(order, m.TS)
	}
	if want := []string{parent, reply, edited, gone, forBob}; strings.Join(order, " ") != strings.Join(want, " ") {
		t.Errorf("bob sees %v, want %v (alice's ephemeral %s hidden)", order, want, forAlice)
	}
	if m, _ := st.find(parent); !strings.Contains(string(m.Blocks), "release_approve") || m.User != st.Bot.ID {
		t.Errorf("parent: %+v", m)
	}
	if m, _ := st.find(reply); m.ThreadTS != parent {
		t.Errorf("reply: %+v", m)
	}
	if m, _ := st.find(edited); !m.Edited || m.Text != "Deployed" {
		t.Errorf("edited: %+v", m)
	}
	if m, _ := st.find(gone); !m.Deleted || m.Text != "" {
		t.Errorf("a deleted message keeps its place but not its text: %+v", m)
	}
	if m, _ := st.find(forBob); !m.Ephemeral || m.Text != "You cannot approve twice." || m.User != st.Bot.ID {
		t.Errorf("bob's ephemeral: %+v", m)
	}

	_, st = e.state(t, "?user="+alice)
	if _, ok := st.find(forBob); ok {
		t.Error("alice sees bob's ephemeral")
	}
	if _, ok := st.find(forAlice); !ok {
		t.Error("alice does not see her ephemeral")
	}
	// No user: the first one, the proposer.
	if _, st = e.state(t, ""); st.User != alice {
		t.Errorf("default user %q, want %q", st.User, alice)
	}
	if code, _ := e.state(t, "?user=U0NOBODY"); code != http.StatusBadRequest {
		t.Errorf("unknown user: %d, want 400", code)
	}
}

func TestCommandBecomesASlashCommandAsTheUser(t *testing.T) {
	e, got := start(t, true)
	code, answer := e.postJSON(t, "command", map[string]string{"user": bob, "text": "  /release diff prod "})
	if code != http.StatusAccepted {
		t.Fatalf("command: %d %v", code, answer)
	}
	env := e.envelope(t, answer)
	var cmd slack.SlashCommand
	if err := json.Unmarshal(env.Payload, &cmd); err != nil {
		t.Fatal(err)
	}
	if env.Type != "slash_commands" || cmd.Command != "/release" || cmd.Text != "diff prod" || cmd.UserID != bob ||
		cmd.UserName != "bob" || cmd.ChannelID != channelID || cmd.TriggerID == "" || cmd.ResponseURL == "" {
		t.Errorf("envelope %s: %+v", env.Type, cmd)
	}
	if ev := next(t, got); ev.Request.EnvelopeID != env.ID {
		t.Errorf("the bot got %s, want %s", ev.Request.EnvelopeID, env.ID)
	}
	// "/release" alone is a command too: the bot answers it with help.
	if code, answer := e.postJSON(t, "command", map[string]string{"user": gus, "text": "/release"}); code != http.StatusAccepted {
		t.Errorf("/release: %d %v", code, answer)
	}
}

func TestClickBecomesABlockActionAsTheUser(t *testing.T) {
	e, got := start(t, true)
	ts := e.post(t, slack.MsgOptionText("Release prod-7", false), slack.MsgOptionBlocks(releaseBlocks("Release prod-7")...))
	code, answer := e.postJSON(t, "click", map[string]string{
		"user": carol, "ts": ts, "action_id": "release_approve", "block_id": "release:prod-7:v1", "value": "prod-7 sha256:abc",
	})
	if code != http.StatusAccepted {
		t.Fatalf("click: %d %v", code, answer)
	}
	cb := interaction(t, e.envelope(t, answer))
	if cb.Type != slack.InteractionTypeBlockActions || cb.User.ID != carol || cb.Container.MessageTs != ts || cb.Channel.ID != channelID ||
		len(cb.ActionCallback.BlockActions) != 1 {
		t.Fatalf("click payload: %+v", cb)
	}
	if a := cb.ActionCallback.BlockActions[0]; a.ActionID != "release_approve" || a.BlockID != "release:prod-7:v1" || a.Value != "prod-7 sha256:abc" {
		t.Errorf("action: %+v", a)
	}
	next(t, got)

	// An ephemeral's buttons work for its user only.
	eph, err := e.api.PostEphemeral(channelID, bob, slack.MsgOptionBlocks(releaseBlocks("Preview")...))
	if err != nil {
		t.Fatal(err)
	}
	if code, answer := e.postJSON(t, "click", map[string]string{"user": bob, "ts": eph, "action_id": "release_reject"}); code != http.StatusAccepted {
		t.Errorf("bob on his ephemeral: %d %v", code, answer)
	}
	if code, _ := e.postJSON(t, "click", map[string]string{"user": alice, "ts": eph, "action_id": "release_reject"}); code != http.StatusNotFound {
		t.Errorf("alice on bob's ephemeral: %d, want 404", code)
	}
}

func TestDialogSubmissionIsTheViewSubmissionSlackSends(t *testing.T) {
	e, got := start(t, true)
	ts := e.post(t, slack.MsgOptionText("Release prod-7", false), slack.MsgOptionBlocks(releaseBlocks("Release prod-7")...))
	viewID := e.openRejectDialog(t, got, bob, ts)

	// The dialog is bob's: the state lists it for him only.
	if _, st := e.state(t, "?user="+bob); len(st.Views) != 1 || st.Views[0].ID != viewID || !strings.Contains(string(st.Views[0].View), "Reject release") {
		t.Fatalf("bob's views: %+v", st.Views)
	}
	if _, st := e.state(t, "?user="+carol); len(st.Views) != 0 {
		t.Errorf("carol sees bob's dialog: %+v", st.Views)
	}
	reason := map[string]map[string]string{"reason": {"reason": "web is not ready"}}
	for _, c := range []struct {
		name string
		body any
		code int
	}{
		{"someone else's dialog", map[string]any{"user": carol, "view_id": viewID, "values": reason}, http.StatusBadRequest},
		{"no such dialog", map[string]any{"user": bob, "view_id": "V0NOPE", "values": reason}, http.StatusNotFound},
		{"a required input left empty", map[string]any{"user": bob, "view_id": viewID, "values": map[string]map[string]string{"reason": {"reason": "  "}}}, http.StatusBadRequest},
		{"an input the dialog lacks", map[string]any{"user": bob, "view_id": viewID, "values": map[string]map[string]string{"reason": {"other": "x"}}}, http.StatusBadRequest},
	} {
		if code, answer := e.postJSON(t, "submit", c.body); code != c.code || answer["error"] == "" {
			t.Errorf("%s: %d %v, want %d with an error", c.name, code, answer, c.code)
		}
	}

	code, answer := e.postJSON(t, "submit", map[string]any{"user": bob, "view_id": viewID, "values": reason})
	if code != http.StatusAccepted {
		t.Fatalf("submit: %d %v", code, answer)
	}
	cb := interaction(t, e.envelope(t, answer))
	if cb.Type != slack.InteractionTypeViewSubmission || cb.User.ID != bob || cb.Team.ID == "" || cb.View.ID != viewID ||
		cb.View.CallbackID != "release_reject_reason" || cb.View.PrivateMetadata != "prod-7 sha256:abc" || cb.View.Hash == "" {
		t.Errorf("submission: %+v", cb)
	}
	if v := cb.View.State.Values["reason"]["reason"]; v.Value != "web is not ready" || v.Type != "plain_text_input" {
		t.Errorf("the reason as the bot reads it: %+v", v)
	}
	if ev := next(t, got); ev.Request.EnvelopeID == "" {
		t.Error("the bot got no submission")
	}
	// Submitted, it is closed: not listed, not submittable twice.
	if _, st := e.state(t, "?user="+bob); len(st.Views) != 0 {
		t.Errorf("a submitted dialog is still open: %+v", st.Views)
	}
	if code, _ := e.postJSON(t, "submit", map[string]any{"user": bob, "view_id": viewID, "values": reason}); code != http.StatusConflict {
		t.Errorf("second submission: %d, want 409", code)
	}

	// Dismissed, a dialog closes without an envelope.
	other := e.openRejectDialog(t, got, bob, ts)
	if code, answer := e.postJSON(t, "dismiss", map[string]string{"user": bob, "view_id": other}); code != http.StatusNoContent {
		t.Errorf("dismiss: %d %v", code, answer)
	}
	if _, st := e.state(t, "?user="+bob); len(st.Views) != 0 {
		t.Errorf("a dismissed dialog is still open: %+v", st.Views)
	}
}

func TestBadRequestsAreRefusedWithAMessage(t *testing.T) {
	e, _ := start(t, true)
	ts := e.post(t, slack.MsgOptionText("Release prod-7", false), slack.MsgOptionBlocks(releaseBlocks("Release prod-7")...))
	huge := `{"user":"` + bob + `","text":"/release ` + strings.Repeat("x", 70<<10) + `"}`
	for _, c := range []struct {
		name, path string
		body       any
		code       int
		says       string
	}{
		{"not JSON", "command", []byte(`/release diff`), 400, "bad JSON"},
		{"two objects", "command", []byte(`{"user":"U0BOB","text":"/release"}{}`), 400, "one object"},
		{"an unknown field", "command", map[string]string{"user": bob, "text": "/release diff", "as": "admin"}, 400, "unknown field"},
		{"no user", "command", map[string]string{"text": "/release diff"}, 400, "user is required"},
		{"an unknown user", "command", map[string]string{"user": "U0NOBODY", "text": "/release diff"}, 400, "unknown user"},
		{"the bot as user", "click", map[string]string{"user": "U0RELEASEBOT", "ts": ts, "action_id": "release_approve"}, 400, "unknown user"},
		{"empty text", "command", map[string]string{"user": bob, "text": "  "}, 400, "Type a command"},
		{"no slash", "command", map[string]string{"user": bob, "text": "release diff"}, 400, "start with /release"},
		{"another command", "command", map[string]string{"user": bob, "text": "/deploy prod"}, 400, "Only /release"},
		{"a body too big", "command", []byte(huge), 413, "over"},
		{"a bad ts", "click", map[string]string{"user": bob, "ts": "yesterday", "action_id": "release_approve"}, 400, "timestamp"},
		{"no action id", "click", map[string]string{"user": bob, "ts": ts}, 400, "action_id is required"},
		{"a message that is not there", "click", map[string]string{"user": bob, "ts": "1700000000.000001", "action_id": "release_approve"}, 404, "gone"},
		{"no view id", "submit", map[string]any{"user": bob}, 400, "view_id is required"},
		{"dismiss without a user", "dismiss", map[string]string{"view_id": "V0X"}, 400, "user is required"},
	} {
		code, answer := e.postJSON(t, c.path, c.body)
		if msg, _ := answer["error"].(string); code != c.code || !strings.Contains(msg, c.says) {
			t.Errorf("%s: %d %q, want %d saying %q", c.name, code, msg, c.code, c.says)
		}
	}
	// Form posts, which any web page can make, are refused: only JSON is read.
	res, err := http.Post(e.page+"command", "application/x-www-form-urlencoded", strings.NewReader("user=U0BOB&text=/release+diff"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("form post: %d, want 415", res.StatusCode)
	}
	res, err = http.Get(e.page + "command")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET command: %d, want 405", res.StatusCode)
	}
}

func TestWithoutTheBotConnectedTheUserIsTold(t *testing.T) {
	e, _ := start(t, false)
	code, answer := e.postJSON(t, "command", map[string]string{"user": bob, "text": "/release diff"})
	if msg, _ := answer["error"].(string); code != http.StatusServiceUnavailable || !strings.Contains(msg, "not connected") {
		t.Errorf("%d %v, want 503 saying the bot is not connected", code, answer)
	}
}

func TestThePageAndItsAssetsAreServedLocked(t *testing.T) {
	e, _ := start(t, false)
	for path, want := range map[string]string{
		"":               "text/html",
		"assets/app.js":  "javascript",
		"assets/app.css": "text/css",
	} {
		res, err := http.Get(e.page + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.Contains(res.Header.Get("Content-Type"), want) {
			t.Errorf("%s: %d %s", path, res.StatusCode, res.Header.Get("Content-Type"))
		}
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("%s: CSP %q", path, csp)
		}
	}
	// /sandbox without the slash lands on the page.
	res, err := http.Get(strings.TrimSuffix(e.page, "/"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Request.URL.Path != "/sandbox/" {
		t.Errorf("/sandbox: %d at %s", res.StatusCode, res.Request.URL.Path)
	}
}
