package slacktest

import (
	"encoding/json"
	"errors"
	"fmt"
)

// verificationToken is the legacy token Slack still puts in payloads.
const verificationToken = "slacktest-verification-token"

// SlashCommand is a person typing a slash command.
type SlashCommand struct {
	// ChannelID is where it was typed (required). The channel need not be
	// one the bot is in.
	ChannelID string
	// ChannelName defaults to the name given to AddChannel.
	ChannelName string
	// UserID is who typed it (required).
	UserID string
	// UserName defaults to the name given to AddUser.
	UserName string
	// Command defaults to "/release".
	Command string
	// Text is what follows the command.
	Text string
	// TeamID defaults to Options.TeamID.
	TeamID string
}

// SlashCommand sends a slash_commands envelope carrying the payload Slack
// builds: is_enterprise_install as the string "false", a fresh trigger_id,
// and a response_url served by this fake. It returns the envelope_id.
func (s *Server) SlashCommand(cmd SlashCommand) (string, error) {
	if cmd.ChannelID == "" || cmd.UserID == "" {
		return "", errors.New("slacktest: slash command needs ChannelID and UserID")
	}
	if cmd.Command == "" {
		cmd.Command = "/release"
	}
	if cmd.TeamID == "" {
		cmd.TeamID = s.opts.TeamID
	}
	s.mu.Lock()
	if cmd.ChannelName == "" {
		if ch, ok := s.channels[cmd.ChannelID]; ok {
			cmd.ChannelName = ch.name
		}
	}
	if cmd.UserName == "" {
		cmd.UserName = s.users[cmd.UserID].Name
	}
	responseURL := s.newHookLocked(cmd.ChannelID, cmd.UserID, "")
	triggerID := s.issueTriggerLocked(cmd.UserID)
	s.mu.Unlock()

	payload, err := json.Marshal(struct {
		Token               string `json:"token"`
		TeamID              string `json:"team_id"`
		TeamDomain          string `json:"team_domain"`
		ChannelID           string `json:"channel_id"`
		ChannelName         string `json:"channel_name"`
		UserID              string `json:"user_id"`
		UserName            string `json:"user_name"`
		Command             string `json:"command"`
		Text                string `json:"text"`
		APIAppID            string `json:"api_app_id"`
		IsEnterpriseInstall string `json:"is_enterprise_install"`
		ResponseURL         string `json:"response_url"`
		TriggerID           string `json:"trigger_id"`
	}{
		verificationToken, cmd.TeamID, "slacktest", cmd.ChannelID, cmd.ChannelName, cmd.UserID, cmd.UserName,
		cmd.Command, cmd.Text, s.opts.AppID, "false", responseURL, triggerID,
	})
	if err != nil {
		return "", err
	}
	return s.SendEnvelope("slash_commands", payload)
}

// BlockAction is a person clicking an interactive element on a message.
type BlockAction struct {
	// UserID is who clicked (required).
	UserID string
	// UserName defaults to the name given to AddUser.
	UserName string
	// ChannelID and MessageTS name the message clicked on (required).
	ChannelID, MessageTS string
	// ActionID names the element (required).
	ActionID string
	// BlockID and Value default to those of the element with ActionID in
	// the message's blocks. Set them to click a stale or forged button.
	BlockID, Value string
	// Type defaults to the element's type, or "button".
	Type string
}

// BlockAction sends the interactive envelope of a click: a block_actions
// payload with is_enterprise_install a JSON bool, the message as it now
// stands (ts and blocks; Slack omits it for ephemerals), a block_id on the
// action, a fresh trigger_id and a response_url whose replace_original and
// delete_original act on the clicked message. It returns the envelope_id.
// The message must exist; an ephemeral can only be clicked by its user.
func (s *Server) BlockAction(a BlockAction) (string, error) {
	if a.UserID == "" || a.ChannelID == "" || a.MessageTS == "" || a.ActionID == "" {
		return "", errors.New("slacktest: block action needs UserID, ChannelID, MessageTS and ActionID")
	}
	s.mu.Lock()
	m := s.messageLocked(a.ChannelID, a.MessageTS)
	if m == nil || m.Deleted || (m.Ephemeral && m.VisibleTo != a.UserID) {
		s.mu.Unlock()
		return "", fmt.Errorf("%w: %s %s", ErrMessageNotFound, a.ChannelID, a.MessageTS)
	}
	blockID, el := findAction(m.Blocks, a.ActionID)
	if a.BlockID == "" {
		a.BlockID = blockID
	}
	if a.Value == "" {
		a.Value = str(el, "value")
	}
	if a.Type == "" {
		if a.Type = str(el, "type"); a.Type == "" {
			a.Type = "button"
		}
	}
	if a.BlockID == "" {
		s.mu.Unlock()
		return "", fmt.Errorf("slacktest: no element %q on message %s and no BlockID given", a.ActionID, a.MessageTS)
	}
	if a.UserName == "" {
		a.UserName = s.users[a.UserID].Name
	}
	channelName := s.channels[a.ChannelID].name
	var message map[string]any
	if !m.Ephemeral {
		message = s.wireMessage(m)
	}
	action := map[string]any{
		"type": a.Type, "action_id": a.ActionID, "block_id": a.BlockID, "action_ts": s.newTSLocked(),
	}
	if a.Value != "" {
		action["value"] = a.Value
	}
	if t, ok := el["text"]; ok {
		action["text"] = t
	}
	if st := str(el, "style"); st != "" {
		action["style"] = st
	}
	container := map[string]any{
		"type": "message", "message_ts": m.TS, "channel_id": a.ChannelID, "is_ephemeral": m.Ephemeral,
	}
	if m.ThreadTS != "" {
		container["thread_ts"] = m.ThreadTS
	}
	responseURL := s.newHookLocked(a.ChannelID, a.UserID, m.TS)
	triggerID := s.issueTriggerLocked(a.UserID)
	s.mu.Unlock()

	payload := map[string]any{
		"type": "block_actions",
		"user": map[string]any{
			"id": a.UserID, "username": a.UserName, "name": a.UserName, "team_id": s.opts.TeamID,
		},
		"api_app_id":            s.opts.AppID,
		"token":                 verificationToken,
		"container":             container,
		"trigger_id":            triggerID,
		"team":                  map[string]any{"id": s.opts.TeamID, "domain": "slacktest"},
		"enterprise":            nil,
		"is_enterprise_install": false,
		"channel":               map[string]any{"id": a.ChannelID, "name": channelName},
		"state":                 map[string]any{"values": map[string]any{}},
		"response_url":          responseURL,
		"actions":               []any{action},
	}
	if message != nil {
		payload["message"] = message
	}
	raw, err := json.Marshal(payload)
	if err != nil {
		return "", err
	}
	return s.SendEnvelope("interactive", raw)
}
