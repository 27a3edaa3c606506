package sandbox

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/release-bot/release-bot/internal/slackbot/slacktest"
)

// Bounds on what the page may send.
const (
	maxRequestBody = 64 << 10
	maxCommandText = 2_000 // what follows /release
	maxIDLen       = 255   // action and block ids, as Slack bounds them
	maxValueLen    = 2_000 // a button's value
	maxInputText   = 3_000 // one dialog input
	maxInputs      = 20    // inputs in one dialog
)

// tsPattern is a Slack message timestamp.
var tsPattern = regexp.MustCompile(`^[0-9]{1,12}\.[0-9]{6}$`)

// apiError is a refusal the page shows to its user as it is.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func badRequest(format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

// quote shows a value in an error message, cut short.
func quote(s string) string {
	if utf8.RuneCountInString(s) > 40 {
		s = string([]rune(s)[:40]) + "…"
	}
	return strconv.Quote(s)
}

// decode reads a JSON body strictly into v: application/json only (a page
// on another site cannot send that without the browser asking first), one
// object, known fields, bounded size.
func decode(w http.ResponseWriter, r *http.Request, v any) *apiError {
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/json" {
		return &apiError{status: http.StatusUnsupportedMediaType, msg: "send JSON (Content-Type: application/json)"}
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxRequestBody)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &apiError{status: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf("request body over %d bytes", maxRequestBody)}
		}
		return badRequest("bad JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("bad JSON: one object expected")
	}
	return nil
}

// request is the body of a POST: who acts, and what else must hold of it.
type request interface {
	actor() string
	check() *apiError
}

// read decodes a POST into T and checks it and its user. On a refusal it
// has answered, and ok is false.
func read[T request](h *handler, w http.ResponseWriter, r *http.Request) (req T, u User, ok bool) {
	aerr := decode(w, r, &req)
	if aerr == nil {
		u, aerr = h.actor(req.actor())
	}
	if aerr == nil {
		aerr = req.check()
	}
	if aerr != nil {
		writeError(w, aerr.status, aerr.msg)
		return req, u, false
	}
	return req, u, true
}

// actor checks the user id of a request.
func (h *handler) actor(id string) (User, *apiError) {
	if id == "" {
		return User{}, badRequest("user is required")
	}
	u, ok := h.user(id)
	if !ok {
		return User{}, badRequest("unknown user %s", quote(id))
	}
	return u, nil
}

// sent answers a request that became an envelope, or explains why it did not.
func (h *handler) sent(w http.ResponseWriter, what, envelopeID string, err error) {
	switch {
	case err == nil:
		writeJSON(w, http.StatusAccepted, map[string]string{"envelope_id": envelopeID})
	case errors.Is(err, slacktest.ErrMessageNotFound):
		writeError(w, http.StatusNotFound, "That message is gone.")
	case errors.Is(err, slacktest.ErrNotOnHome):
		writeError(w, http.StatusNotFound, "That button is no longer on your Home tab.")
	case errors.Is(err, slacktest.ErrNoConnection):
		writeError(w, http.StatusServiceUnavailable, "The bot is not connected to Slack yet; try again in a moment.")
	case errors.Is(err, slacktest.ErrClosed):
		writeError(w, http.StatusServiceUnavailable, "The sandbox is shutting down.")
	default:
		ref := randomHex(3)
		h.page.Logger.Error().Err(err).Str("ref", ref).Str("what", what).Msg("sandbox could not send an envelope")
		writeError(w, http.StatusInternalServerError, fmt.Sprintf("Something went wrong (ref %s).", ref))
	}
}

// commandRequest is POST /sandbox/command.
type commandRequest struct {
	User string `json:"user"`
	Text string `json:"text"`
}

func (c commandRequest) actor() string { return c.User }

// command types a /release command in the channel as the user.
func (h *handler) command(w http.ResponseWriter, r *http.Request) {
	req, u, ok := read[commandRequest](h, w, r)
	if !ok {
		return
	}
	_, rest, _ := strings.Cut(strings.TrimSpace(req.Text), " ")
	id, err := h.page.Slack.SlashCommand(slacktest.SlashCommand{
		ChannelID: h.page.Channel, ChannelName: h.page.ChannelName, UserID: u.ID, UserName: u.Name,
		Command: "/release", Text: strings.TrimSpace(rest),
	})
	h.sent(w, "command", id, err)
}

// check accepts "/release" and "/release <words>".
func (c commandRequest) check() *apiError {
	text := strings.TrimSpace(c.Text)
	switch {
	case text == "":
		return badRequest("Type a command, such as /release diff.")
	case !strings.HasPrefix(text, "/"):
		return badRequest("Commands start with /release, such as /release diff.")
	}
	cmd, rest, _ := strings.Cut(text, " ")
	if cmd != "/release" {
		return badRequest("Only /release works here, not %s.", quote(cmd))
	}
	if utf8.RuneCountInString(rest) > maxCommandText {
		return badRequest("The command is longer than %d characters.", maxCommandText)
	}
	return nil
}

// clickRequest is POST /sandbox/click.
type clickRequest struct {
	User     string `json:"user"`
	TS       string `json:"ts"`
	ActionID string `json:"action_id"`
	BlockID  string `json:"block_id"`
	Value    string `json:"value"`
}

func (c clickRequest) actor() string { return c.User }

// click presses a button on a message of the channel as the user.
func (h *handler) click(w http.ResponseWriter, r *http.Request) {
	req, u, ok := read[clickRequest](h, w, r)
	if !ok {
		return
	}
	id, err := h.page.Slack.BlockAction(slacktest.BlockAction{
		UserID: u.ID, UserName: u.Name, ChannelID: h.page.Channel, MessageTS: req.TS,
		ActionID: req.ActionID, BlockID: req.BlockID, Value: req.Value,
	})
	h.sent(w, "click", id, err)
}

// check bounds what a click names as Slack bounds it.
func (req clickRequest) check() *apiError {
	switch {
	case !tsPattern.MatchString(req.TS):
		return badRequest("ts must be a message timestamp such as 1700000000.000100, not %s", quote(req.TS))
	case req.ActionID == "":
		return badRequest("action_id is required")
	case len(req.ActionID) > maxIDLen || len(req.BlockID) > maxIDLen:
		return badRequest("action_id and block_id are at most %d characters", maxIDLen)
	case len(req.Value) > maxValueLen:
		return badRequest("value is at most %d characters", maxValueLen)
	}
	return nil
}

// homeRequest is POST /sandbox/home: the user opens the app's Home tab.
type homeRequest struct {
	User string `json:"user"`
}

func (r homeRequest) actor() string { return r.User }

func (homeRequest) check() *apiError { return nil }

// home sends the app_home_opened event of the user opening the Home tab.
func (h *handler) home(w http.ResponseWriter, r *http.Request) {
	_, u, ok := read[homeRequest](h, w, r)
	if !ok {
		return
	}
	id, err := h.page.Slack.OpenHome(u.ID)
	h.sent(w, "home", id, err)
}

// homeClickRequest is POST /sandbox/home-click: a button on the Home tab.
type homeClickRequest struct {
	User     string `json:"user"`
	ActionID string `json:"action_id"`
	BlockID  string `json:"block_id"`
	Value    string `json:"value"`
}

func (c homeClickRequest) actor() string { return c.User }

// check bounds what a click names as Slack bounds it.
func (c homeClickRequest) check() *apiError {
	switch {
	case c.ActionID == "":
		return badRequest("action_id is required")
	case len(c.ActionID) > maxIDLen || len(c.BlockID) > maxIDLen:
		return badRequest("action_id and block_id are at most %d characters", maxIDLen)
	case len(c.Value) > maxValueLen:
		return badRequest("value is at most %d characters", maxValueLen)
	}
	return nil
}

// homeClick presses a button on the user's Home tab.
func (h *handler) homeClick(w http.ResponseWriter, r *http.Request) {
	req, u, ok := read[homeClickRequest](h, w, r)
	if !ok {
		return
	}
	id, err := h.page.Slack.HomeAction(slacktest.HomeAction{UserID: u.ID, ActionID: req.ActionID, BlockID: req.BlockID, Value: req.Value})
	h.sent(w, "home click", id, err)
}

// submitRequest is POST /sandbox/submit: the dialog's inputs by block id,
// then action id.
type submitRequest struct {
	User   string                       `json:"user"`
	ViewID string                       `json:"view_id"`
	Values map[string]map[string]string `json:"values"`
}

func (s submitRequest) actor() string { return s.User }

// check leaves the inputs to be checked against the dialog: see inputValues.
func (s submitRequest) check() *apiError {
	if s.ViewID == "" {
		return badRequest("view_id is required")
	}
	return nil
}

// dismissRequest is POST /sandbox/dismiss.
type dismissRequest struct {
	User   string `json:"user"`
	ViewID string `json:"view_id"`
}

func (d dismissRequest) actor() string { return d.User }

func (d dismissRequest) check() *apiError {
	return submitRequest{ViewID: d.ViewID}.check()
}

// openView finds a dialog the bot opened for the user and has not been closed.
func (h *handler) openView(user, viewID string) (slacktest.View, *apiError) {
	for _, v := range h.page.Slack.Views() {
		if v.ID != viewID {
			continue
		}
		switch {
		case v.UserID != user:
			return slacktest.View{}, badRequest("dialog %s was opened for someone else", quote(viewID))
		case h.isClosed(v.ID):
			return slacktest.View{}, &apiError{status: http.StatusConflict, msg: "This dialog is already closed."}
		}
		return v, nil
	}
	return slacktest.View{}, &apiError{status: http.StatusNotFound, msg: fmt.Sprintf("no dialog %s", quote(viewID))}
}

// viewDef is the part of a view the page reads.
type viewDef struct {
	Type            string          `json:"type"`
	CallbackID      string          `json:"callback_id"`
	PrivateMetadata string          `json:"private_metadata"`
	Title           json.RawMessage `json:"title"`
	Blocks          []struct {
		Type     string `json:"type"`
		BlockID  string `json:"block_id"`
		Optional bool   `json:"optional"`
		Label    struct {
			Text string `json:"text"`
		} `json:"label"`
		Element struct {
			Type     string `json:"type"`
			ActionID string `json:"action_id"`
		} `json:"element"`
	} `json:"blocks"`
}

// submit sends a dialog's inputs as the view_submission Slack would send.
func (h *handler) submit(w http.ResponseWriter, r *http.Request) {
	req, u, ok := read[submitRequest](h, w, r)
	if !ok {
		return
	}
	v, aerr := h.openView(u.ID, req.ViewID)
	var def viewDef
	if aerr == nil && json.Unmarshal(v.View, &def) != nil {
		aerr = badRequest("dialog %s cannot be read", quote(req.ViewID))
	}
	var values map[string]any
	if aerr == nil {
		values, aerr = inputValues(def, req.Values)
	}
	if aerr != nil {
		writeError(w, aerr.status, aerr.msg)
		return
	}
	opts := h.page.Slack.Options()
	viewType := def.Type
	if viewType == "" {
		viewType = "modal"
	}
	payload, err := json.Marshal(map[string]any{
		"type":                  "view_submission",
		"team":                  map[string]any{"id": opts.TeamID, "domain": "slacktest"},
		"user":                  map[string]any{"id": u.ID, "username": u.Name, "name": u.Name, "team_id": opts.TeamID},
		"api_app_id":            opts.AppID,
		"is_enterprise_install": false,
		"enterprise":            nil,
		"response_urls":         []any{},
		"view": map[string]any{
			"id": v.ID, "type": viewType, "team_id": opts.TeamID, "app_id": opts.AppID, "bot_id": opts.BotID,
			"callback_id": def.CallbackID, "private_metadata": def.PrivateMetadata, "title": def.Title,
			// Each submission has its own hash, as each of Slack's does: the
			// bot tells redeliveries from new submissions by it.
			"hash":  randomHex(8),
			"state": map[string]any{"values": values},
		},
	})
	if err != nil {
		h.sent(w, "submit", "", err)
		return
	}
	id, err := h.page.Slack.SendEnvelope("interactive", payload)
	if err == nil {
		h.markClosed(v.ID)
	}
	h.sent(w, "submit", id, err)
}

// inputValues checks the submitted inputs against the dialog's input blocks
// (each one known, required ones filled in, as Slack's client insists) and
// returns them in the view state's shape.
func inputValues(def viewDef, got map[string]map[string]string) (map[string]any, *apiError) {
	n := 0
	for _, byAction := range got {
		n += len(byAction)
	}
	if n > maxInputs {
		return nil, badRequest("at most %d inputs", maxInputs)
	}
	type input struct {
		label    string
		optional bool
		seen     bool
	}
	inputs := map[[2]string]*input{}
	for _, b := range def.Blocks {
		if b.Type == "input" && b.Element.Type == "plain_text_input" {
			inputs[[2]string{b.BlockID, b.Element.ActionID}] = &input{label: b.Label.Text, optional: b.Optional}
		}
	}
	values := map[string]any{}
	for blockID, byAction := range got {
		for actionID, value := range byAction {
			in, ok := inputs[[2]string{blockID, actionID}]
			if !ok {
				return nil, badRequest("the dialog has no input %s/%s", quote(blockID), quote(actionID))
			}
			if utf8.RuneCountInString(value) > maxInputText {
				return nil, badRequest("%s is longer than %d characters", in.label, maxInputText)
			}
			in.seen = strings.TrimSpace(value) != ""
			byBlock, _ := values[blockID].(map[string]any)
			if byBlock == nil {
				byBlock = map[string]any{}
				values[blockID] = byBlock
			}
			byBlock[actionID] = map[string]any{"type": "plain_text_input", "value": value}
		}
	}
	for _, in := range inputs {
		if !in.optional && !in.seen {
			return nil, badRequest("%s is required.", in.label)
		}
	}
	return values, nil
}

// dismiss records that the user closed a dialog without submitting it.
// The bot asks for no view_closed event, so none is sent.
func (h *handler) dismiss(w http.ResponseWriter, r *http.Request) {
	req, u, ok := read[dismissRequest](h, w, r)
	if !ok {
		return
	}
	v, aerr := h.openView(u.ID, req.ViewID)
	if aerr != nil {
		writeError(w, aerr.status, aerr.msg)
		return
	}
	h.markClosed(v.ID)
	w.WriteHeader(http.StatusNoContent)
}

// writeJSON writes v with the status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError writes {"error": msg}: the text the page shows.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}
