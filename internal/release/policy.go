package release

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Policy is a pipeline's approval rule.
type Policy struct {
	// Required is how many distinct people must approve.
	Required int
	// Users are the Slack user ids that may approve.
	Users map[string]bool
	// Groups are the Slack user group ids (S…) whose members may approve.
	Groups []string
	// AllowSelfApproval lets the proposer approve their own release.
	AllowSelfApproval bool
	// ExpireAfter is how long a release may wait for approvals; zero means forever.
	ExpireAfter time.Duration
}

// Clicker is the person behind a button click, as Slack describes them.
type Clicker struct {
	UserID  string
	TeamID  string
	IsBot   bool
	IsGuest bool
	Deleted bool
	// Groups are the user group ids the user is a member of.
	Groups []string
}

// RefusalReason names why an action was refused, for code to branch on.
type RefusalReason string

// Reasons an approval is refused.
const (
	RefusedBot             RefusalReason = "bot"
	RefusedGuest           RefusalReason = "guest"
	RefusedDeleted         RefusalReason = "deleted"
	RefusedNotApprover     RefusalReason = "not_approver"
	RefusedOwnRelease      RefusalReason = "own_release"
	RefusedAlreadyApproved RefusalReason = "already_approved"
	RefusedGateFailed      RefusalReason = "gate_failed"
	RefusedWrongState      RefusalReason = "wrong_state"
	RefusedExpired         RefusalReason = "expired"
	RefusedStaleDigest     RefusalReason = "stale_digest"
)

// Refusal is a domain refusal: the action changes nothing and Text, written
// for a person in Slack (mrkdwn), says why.
type Refusal struct {
	Reason RefusalReason
	Text   string
}

// Error returns Text, so that a refusal can travel as an error.
func (r *Refusal) Error() string { return r.Text }

// Is matches another *Refusal with the same Reason, so that
// errors.Is(err, &Refusal{Reason: RefusedExpired}) works.
func (r *Refusal) Is(target error) bool {
	t, ok := target.(*Refusal)
	return ok && t.Reason == r.Reason
}

func refuse(reason RefusalReason, format string, args ...any) *Refusal {
	return &Refusal{Reason: reason, Text: fmt.Sprintf(format, args...)}
}

// ExpiresAt is when a release proposed at created stops accepting approvals;
// zero when the policy never expires releases.
func (p Policy) ExpiresAt(created time.Time) time.Time {
	if p.ExpireAfter <= 0 {
		return time.Time{}
	}
	return created.Add(p.ExpireAfter)
}

// MayApprove reports whether the policy names c as an approver, directly or
// through one of their user groups.
func (p Policy) MayApprove(c Clicker) bool {
	if p.Users[c.UserID] {
		return true
	}
	for _, g := range c.Groups {
		if slices.Contains(p.Groups, g) {
			return true
		}
	}
	return false
}

// CheckApprover decides whether c's click on an Approve button carrying
// digest counts, and says why not when it does not. Who the person is comes
// first (it does not change by clicking again), then whether the release can
// still take an approval, then whether this button is the current one.
// The store checks state, digest and expiry again atomically; this check is
// what lets the bot answer with a reason instead of a bare outcome.
func (p Policy) CheckApprover(r *Release, c Clicker, digest string, now time.Time) *Refusal {
	switch {
	case c.IsBot:
		return refuse(RefusedBot, "Bots cannot approve releases.")
	case c.Deleted:
		return refuse(RefusedDeleted, "Deactivated accounts cannot approve releases.")
	case c.IsGuest:
		return refuse(RefusedGuest, "Guests cannot approve releases; ask a full member of the workspace who is an approver.")
	case !p.MayApprove(c):
		return refuse(RefusedNotApprover, "You are not an approver of %s releases. %s", pipelineName(r), p.whoMay())
	case c.UserID == r.Proposer && !p.AllowSelfApproval:
		return refuse(RefusedOwnRelease, "You proposed release %s, so you cannot approve it: it needs %s from someone else.", r.ID, approvalsWord(r.Required))
	case r.State != Proposed:
		return refuse(RefusedWrongState, "Release %s is now %s; this button no longer does anything.", r.ID, r.State.Label())
	case r.Expired(now):
		return refuse(RefusedExpired, "Release %s expired %s ago, before it had %s. Propose it again with `/release propose %s`.",
			r.ID, HumanDuration(now.Sub(r.ExpiresAt)), approvalsWord(r.Required), r.Pipeline)
	case digest != r.ManifestDigest:
		return refuse(RefusedStaleDigest, "This button is for an older version of release %s; approve from its current message.", r.ID)
	case r.HasApproved(c.UserID):
		return refuse(RefusedAlreadyApproved, "You have already approved release %s; each person counts once. It needs %s more.", r.ID, approvalsWord(r.Remaining()))
	case r.Gate.Blocks():
		return refuse(RefusedGateFailed, "Release %s failed the compliance gate, so it cannot be approved; see the failing artifacts in its message.", r.ID)
	}
	return nil
}

func pipelineName(r *Release) string {
	if r.Pipeline == "" {
		return "this pipeline's"
	}
	return "*" + r.Pipeline + "*"
}

// whoMay names the approvers with Slack mentions, which Slack renders as names.
func (p Policy) whoMay() string {
	var who []string
	for u, ok := range p.Users {
		if ok {
			who = append(who, "<@"+u+">")
		}
	}
	slices.Sort(who)
	for _, g := range p.Groups {
		who = append(who, "members of <!subteam^"+g+">")
	}
	switch len(who) {
	case 0:
		return "No approvers are configured for this pipeline."
	case 1:
		return "Only " + who[0] + " may approve."
	}
	return "Only " + strings.Join(who[:len(who)-1], ", ") + " or " + who[len(who)-1] + " may approve."
}

func approvalsWord(n int) string {
	if n == 1 {
		return "1 approval"
	}
	return fmt.Sprintf("%d approvals", n)
}
