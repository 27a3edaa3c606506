package slacktest

import (
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// ErrInvalidInput is SubmitView refusing what Slack's client would not
// submit: a required input left blank, or a value outside the input's
// min_length and max_length.
var ErrInvalidInput = errors.New("slacktest: Slack's client would not submit this")

// ViewSubmission is a person pressing a modal's submit button.
type ViewSubmission struct {
	// UserID is who submits (required): the user the view was opened for.
	UserID string
	// ViewID names a view opened with views.open (required).
	ViewID string
	// Values are the typed plain_text_input values, by block id, then
	// action id; an input not named is sent empty.
	Values map[string]map[string]string
}

// viewInputs is the part of a view's JSON SubmitView checks.
type viewInputs struct {
	Type            string          `json:"type"`
	CallbackID      string          `json:"callback_id"`
	PrivateMetadata string          `json:"private_metadata"`
	Title           json.RawMessage `json:"title"`
	Blocks          []struct {
		Type     string `json:"type"`
		BlockID  string `json:"block_id"`
		Optional bool   `json:"optional"`
		Element  struct {
			Type      string `json:"type"`
			ActionID  string `json:"action_id"`
			MinLength int    `json:"min_length"`
			MaxLength int    `json:"max_length"`
		} `json:"element"`
	} `json:"blocks"`
}

// SubmitView sends the view_submission envelope Slack sends when a modal
// is submitted: the view as opened (callback_id, private_metadata) with a
// fresh hash and its state's values, is_enterprise_install a JSON bool, and
// no response_url (a modal opened from a message has none unless it asks
// with response_url_enabled). Like Slack's client it refuses to submit a
// required input left blank or a value shorter than the input's min_length
// or longer than its max_length
// (https://api.slack.com/reference/block-kit/block-elements#input), with
// ErrInvalidInput. It does not close the view: a second call stands for a
// redelivery, or a second submission racing the first.
// https://api.slack.com/reference/interaction-payloads/views#view_submission
func (s *Server) SubmitView(sub ViewSubmission) (string, error) {
	s.mu.Lock()
	var found *View
	for i := range s.views {
		if s.views[i].ID == sub.ViewID {
			found = &s.views[i]
		}
	}
	if found == nil || found.UserID != sub.UserID {
		s.mu.Unlock()
		return "", fmt.Errorf("slacktest: no view %s opened for %s", sub.ViewID, sub.UserID)
	}
	v := *found
	user := s.users[sub.UserID]
	hash := randomHex(8)
	s.mu.Unlock()

	var def viewInputs
	if err := json.Unmarshal(v.View, &def); err != nil {
		return "", err
	}
	if def.Type == "" {
		def.Type = "modal"
	}
	values := map[string]any{}
	for _, b := range def.Blocks {
		if b.Type != "input" || b.Element.Type != "plain_text_input" {
			continue
		}
		typed := sub.Values[b.BlockID][b.Element.ActionID]
		n := utf8.RuneCountInString(typed)
		switch {
		case n == 0 && !b.Optional:
			return "", fmt.Errorf("%w: %s is required", ErrInvalidInput, b.BlockID)
		case n > 0 && n < b.Element.MinLength:
			return "", fmt.Errorf("%w: %s is shorter than %d", ErrInvalidInput, b.BlockID, b.Element.MinLength)
		case b.Element.MaxLength > 0 && n > b.Element.MaxLength:
			return "", fmt.Errorf("%w: %s is longer than %d", ErrInvalidInput, b.BlockID, b.Element.MaxLength)
		}
		values[b.BlockID] = map[string]any{b.Element.ActionID: map[string]any{"type": "plain_text_input", "value": typed}}
	}
	payload, err := json.Marshal(map[string]any{
		"type":                  "view_submission",
		"team":                  map[string]any{"id": s.opts.TeamID, "domain": "slacktest"},
		"user":                  map[string]any{"id": sub.UserID, "username": user.Name, "name": user.Name, "team_id": s.opts.TeamID},
		"api_app_id":            s.opts.AppID,
		"token":                 verificationToken,
		"trigger_id":            s.issueTrigger(sub.UserID),
		"is_enterprise_install": false,
		"enterprise":            nil,
		"response_urls":         []any{},
		"view": map[string]any{
			"id": v.ID, "type": def.Type, "team_id": s.opts.TeamID, "app_id": s.opts.AppID, "bot_id": s.opts.BotID,
			"callback_id": def.CallbackID, "private_metadata": def.PrivateMetadata, "title": def.Title,
			"hash": hash, "state": map[string]any{"values": values},
		},
	})
	if err != nil {
		return "", err
	}
	return s.SendEnvelope("interactive", payload)
}

// issueTrigger is issueTriggerLocked for a caller without the lock.
func (s *Server) issueTrigger(user string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issueTriggerLocked(user)
}
