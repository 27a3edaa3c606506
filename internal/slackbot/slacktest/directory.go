package slacktest

import (
	"encoding/json"
	"slices"
	"time"
)

// triggerTTL is how long Slack accepts a trigger_id.
const triggerTTL = 3 * time.Second

// User is a workspace member as users.info describes them.
type User struct {
	// ID is the user id ("U…").
	ID string
	// Name is the handle.
	Name string
	// IsBot marks bot users.
	IsBot bool
	// IsRestricted marks multi-channel guests.
	IsRestricted bool
	// IsUltraRestricted marks single-channel guests.
	IsUltraRestricted bool
	// Deleted marks deactivated accounts.
	Deleted bool
	// TeamID is the user's workspace; empty means the fake's own.
	TeamID string
	// Email is profile.email, which Slack returns only to a token with the
	// users:read.email scope (https://api.slack.com/methods/users.info):
	// empty leaves it out, as for a token without it.
	Email string
}

// usergroup is a user group ("S…").
type usergroup struct {
	id, handle string
	members    []string
}

// View is a modal opened with views.open.
type View struct {
	// ID is the view id the fake assigned.
	ID string
	// TriggerID is the trigger it was opened with.
	TriggerID string
	// UserID is the user the trigger belongs to.
	UserID string
	// View is the view JSON as sent.
	View json.RawMessage
}

// trigger is an issued trigger_id.
type trigger struct {
	user   string
	issued time.Time
}

// AddUser adds or replaces a workspace member.
func (s *Server) AddUser(u User) {
	if u.TeamID == "" {
		u.TeamID = s.opts.TeamID
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.ID] = u
	s.signalLocked()
}

// AddUsergroup adds or replaces a user group with its members.
func (s *Server) AddUsergroup(id, handle string, members ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := &usergroup{id: id, handle: handle, members: slices.Clone(members)}
	if i := slices.IndexFunc(s.groups, func(g *usergroup) bool { return g.id == id }); i >= 0 {
		s.groups[i] = g
	} else {
		s.groups = append(s.groups, g)
	}
	s.signalLocked()
}

// issueTriggerLocked returns a new trigger_id for the user. s.mu must be held.
func (s *Server) issueTriggerLocked(user string) string {
	id := s.newTSLocked() + "." + randomHex(16)
	s.triggers[id] = trigger{user: user, issued: s.now()}
	return id
}

// authTest describes the bot token, with the fields of slack-go's
// AuthTestResponse (slack.go); authLocked has already refused an unknown
// token with invalid_auth, as Slack does.
// https://api.slack.com/methods/auth.test
func (s *Server) authTest(*apiRequest) (map[string]any, string) {
	return map[string]any{
		"url": "https://slacktest.slack.com/", "team": "slacktest", "user": s.users[s.opts.BotUserID].Name,
		"team_id": s.opts.TeamID, "user_id": s.opts.BotUserID, "bot_id": s.opts.BotID,
		"is_enterprise_install": false,
	}, ""
}

// usersInfo describes one user.
// https://api.slack.com/methods/users.info
func (s *Server) usersInfo(in *apiRequest) (map[string]any, string) {
	u, ok := s.users[in.get("user")]
	if !ok {
		return nil, "user_not_found"
	}
	profile := map[string]any{"real_name": u.Name, "display_name": u.Name, "team": u.TeamID}
	if u.Email != "" {
		profile["email"] = u.Email
	}
	return map[string]any{"user": map[string]any{
		"id": u.ID, "team_id": u.TeamID, "name": u.Name, "real_name": u.Name,
		"deleted": u.Deleted, "is_bot": u.IsBot, "is_app_user": false,
		"is_restricted": u.IsRestricted, "is_ultra_restricted": u.IsUltraRestricted,
		"is_admin": false, "is_owner": false,
		"profile": profile,
	}}, ""
}

// usergroupsList lists the groups, with members only when include_users=true.
// https://api.slack.com/methods/usergroups.list
func (s *Server) usergroupsList(in *apiRequest) (map[string]any, string) {
	if s.opts.FreePlan {
		return nil, "plan_upgrade_required"
	}
	withUsers := in.get("include_users") == "true" || in.get("include_users") == "1"
	groups := []map[string]any{}
	for _, g := range s.groups {
		out := map[string]any{
			"id": g.id, "team_id": s.opts.TeamID, "is_usergroup": true, "is_subteam": true,
			"name": g.handle, "handle": g.handle, "description": "", "user_count": len(g.members),
		}
		if withUsers {
			out["users"] = slices.Clone(g.members)
		}
		groups = append(groups, out)
	}
	return map[string]any{"usergroups": groups}, ""
}

// usergroupsUsersList lists a group's members; it takes the id, not the handle.
// https://api.slack.com/methods/usergroups.users.list
func (s *Server) usergroupsUsersList(in *apiRequest) (map[string]any, string) {
	if s.opts.FreePlan {
		return nil, "plan_upgrade_required"
	}
	id := in.get("usergroup")
	for _, g := range s.groups {
		if g.id == id {
			return map[string]any{"users": append([]string{}, g.members...)}, ""
		}
	}
	return nil, "no_such_subteam"
}

// viewsOpen opens a modal for a fresh trigger_id and records it.
// https://api.slack.com/methods/views.open
func (s *Server) viewsOpen(in *apiRequest) (map[string]any, string) {
	raw := in.get("view")
	var view map[string]any
	if raw == "" || json.Unmarshal([]byte(raw), &view) != nil || view == nil {
		return nil, "invalid_arguments"
	}
	id := in.get("trigger_id")
	trig, ok := s.triggers[id]
	switch {
	case !ok:
		return nil, "invalid_trigger_id"
	case s.now().Sub(trig.issued) > triggerTTL:
		return nil, "expired_trigger_id"
	}
	if b, ok := view["blocks"]; ok {
		raw, _ := json.Marshal(b)
		if _, code := validateBlocks(raw); code != "" {
			return nil, code
		}
	}
	v := View{ID: newSlackID("V"), TriggerID: id, UserID: trig.user, View: json.RawMessage(raw)}
	s.views = append(s.views, v)
	s.signalLocked()
	view["id"], view["team_id"], view["app_id"], view["bot_id"] = v.ID, s.opts.TeamID, s.opts.AppID, s.opts.BotID
	view["hash"] = randomHex(8)
	return map[string]any{"view": view}, ""
}
