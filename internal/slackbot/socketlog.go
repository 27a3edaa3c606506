package slackbot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"

	"github.com/rs/zerolog"
	"github.com/slack-go/slack"
)

// maxLoggedField bounds the envelope type and id copied from a frame slack-go
// could not decode, so that a garbled frame cannot put its payload in a log line.
const maxLoggedField = 64

// envelopeHead is what the log and the ack may use of an undecodable frame:
// never its payload, which holds a response_url, a credential.
type envelopeHead struct {
	id, typ string
}

// peekEnvelope reads the envelope_id and type of a frame, each on its own
// so that one field of the wrong JSON type does not hide the other.
func peekEnvelope(frame json.RawMessage) envelopeHead {
	var fields map[string]json.RawMessage
	if json.Unmarshal(frame, &fields) != nil {
		return envelopeHead{}
	}
	var h envelopeHead
	_ = json.Unmarshal(fields["envelope_id"], &h.id)
	_ = json.Unmarshal(fields["type"], &h.typ)
	return envelopeHead{id: clip(h.id), typ: clip(h.typ)}
}

// clip cuts s to maxLoggedField bytes.
func clip(s string) string {
	if len(s) > maxLoggedField {
		return s[:maxLoggedField]
	}
	return s
}

// knownEnvelopeType reports whether slack-go decodes a Socket Mode message
// of the type (https://api.slack.com/apis/socket-mode#events).
func knownEnvelopeType(typ string) bool {
	switch typ {
	case "hello", "disconnect", "events_api", "slash_commands", "interactive":
		return true
	}
	return false
}

// frameCause says why a frame could not be decoded without quoting it:
// encoding/json's errors may carry a number from the payload, and slack-go's
// wrap them with the envelope's type.
func frameCause(err error, typ string) string {
	var syn *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("not JSON (offset %d)", syn.Offset)
	case errors.As(err, &typeErr):
		return fmt.Sprintf("field %q is not a %s", clip(typeErr.Field), typeErr.Type)
	case typ != "" && !knownEnvelopeType(typ):
		return "unknown envelope type"
	case err != nil:
		return "payload cannot be decoded"
	}
	return ""
}

// unreadableFrame reports whether a read error is about one frame that is
// not JSON; slack-go then keeps the connection, so readiness must not drop.
func unreadableFrame(err error) bool {
	var syn *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	return errors.As(err, &syn) || errors.As(err, &typeErr)
}

// suspect names the setting that a connection error most likely points at,
// with a hint for the operator; "" when the error says nothing about one
// (Slack is down, the network dropped).
func suspect(err error) (variable, hint string) {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return "", ""
	}
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		switch se.Err {
		case "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired", "not_allowed_token_type":
			return "SLACK_APP_TOKEN", "Slack refused the app-level token: it must be a valid xapp- token with connections:write"
		}
		return "", ""
	}
	var sc slack.StatusCodeError
	if errors.As(err, &sc) {
		switch sc.Code {
		case http.StatusUnauthorized, http.StatusForbidden:
			return "SLACK_APP_TOKEN", "Slack refused the app-level token"
		case http.StatusNotFound:
			return "SLACK_API_URL", "apps.connections.open is not found under it: it must end in /api/"
		}
		return "", ""
	}
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return "SLACK_API_URL", "it answered something other than Slack's Web API"
	}
	var ue *url.Error
	var dns *net.DNSError
	if errors.As(err, &ue) || errors.As(err, &dns) {
		return "SLACK_API_URL", "its host cannot be reached"
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return "", "the Socket Mode WebSocket host cannot be reached: check the network and any proxy"
	}
	return "", ""
}

// withSuspect adds to a log line the setting err most likely points at.
func withSuspect(ev *zerolog.Event, err error) *zerolog.Event {
	variable, hint := suspect(err)
	if variable != "" {
		ev = ev.Str("suspect", variable)
	}
	if hint != "" {
		ev = ev.Str("hint", hint)
	}
	return ev
}
