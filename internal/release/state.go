package release

import (
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// State is where a release is in its life. Every change of state is one
// compare-and-set in the store, allowed only along the edges of CanMove.
type State string

// The states of a release. Proposed, approved, dispatching and deploying are
// open; every other state is terminal.
const (
	Proposed     State = "proposed"
	Approved     State = "approved"
	Dispatching  State = "dispatching"
	Deploying    State = "deploying"
	Succeeded    State = "succeeded"
	Failed       State = "failed"
	PartlyFailed State = "partly_failed"
	TimedOut     State = "timed_out"
	Rejected     State = "rejected"
	Cancelled    State = "cancelled"
	Expired      State = "expired"
	Superseded   State = "superseded"
	// Stale: the environments changed between proposal and dispatch, so what
	// was approved is no longer what would ship.
	Stale State = "stale"
	// EvidenceFailed: approved, but Kosli did not record the decision within
	// the pipeline's evidence timeout, so nothing was dispatched (the
	// deploy's gate would refuse every artifact).
	EvidenceFailed State = "evidence_failed"
)

// States lists every state, open ones first, in the order of a release's life.
var States = [...]State{
	Proposed, Approved, Dispatching, Deploying,
	Succeeded, Failed, PartlyFailed, TimedOut, Rejected, Cancelled, Expired, Superseded, Stale, EvidenceFailed,
}

// moves is the transition graph. Terminal states have no entry: nothing leaves them.
var moves = map[State][]State{
	Proposed:    {Approved, Rejected, Cancelled, Expired, Superseded, Stale},
	Approved:    {Dispatching, Stale, Cancelled, Expired},
	Dispatching: {Deploying, Failed, Cancelled, EvidenceFailed},
	Deploying:   {Succeeded, Failed, PartlyFailed, TimedOut, Cancelled},
}

// EnteredAt is when r last moved to state s, by its history; false when it
// never did.
func (r *Release) EnteredAt(s State) (time.Time, bool) {
	for i := len(r.History) - 1; i >= 0; i-- {
		if r.History[i].To == s {
			return r.History[i].At, true
		}
	}
	return time.Time{}, false
}

// Valid reports whether s is one of States.
func (s State) Valid() bool { return slices.Contains(States[:], s) }

// Terminal reports whether the release has ended: nothing moves it any more,
// and it no longer holds its pipeline.
func (s State) Terminal() bool { return s.Valid() && moves[s] == nil }

// Open reports whether the release is still under way and holds its pipeline.
func (s State) Open() bool { return moves[s] != nil }

// Label is the state as a person says it: "partly failed", "timed out".
func (s State) Label() string { return strings.ReplaceAll(string(s), "_", " ") }

// CanMove reports whether a release may go from one state to another.
func CanMove(from, to State) bool { return slices.Contains(moves[from], to) }

// Release is one proposed promotion from a pipeline's source environment to
// its target, from proposal to its end. The store owns State, Version,
// Approvals and History; everything else is written by the domain and the bot.
type Release struct {
	// ID is what people say, e.g. "prod-2026-11-24-1".
	ID       string `json:"id"`
	Pipeline string `json:"pipeline"`
	State    State  `json:"state"`
	// Version is bumped by every change the store makes; a compare-and-set on
	// it is how two replicas avoid overwriting each other.
	Version int64 `json:"version"`
	// ManifestDigest is the "sha256:…" digest of the release manifest.
	// Approvals bind to it, so what was approved is exactly what ships.
	ManifestDigest string `json:"manifest_digest"`
	// Proposer is the Slack user id of whoever proposed the release.
	Proposer  string    `json:"proposer"`
	CreatedAt time.Time `json:"created_at"`
	// ExpiresAt is when an unfinished approval lapses; zero means never.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// Required is the number of approvals needed, frozen at propose time so
	// that a config change does not move the goalposts of a running release.
	Required  int        `json:"required"`
	Approvals []Approval `json:"approvals,omitempty"`
	Rejection *Decision  `json:"rejection,omitempty"`
	// Channel and MessageTS name the parent Slack message; the release is
	// answered in its thread.
	Channel   string `json:"channel,omitempty"`
	MessageTS string `json:"message_ts,omitempty"`

	Gate     *Gate     `json:"gate,omitempty"`
	Evidence *Evidence `json:"evidence,omitempty"`
	Run      *Run      `json:"run,omitempty"`
	// RecheckFailedAt is when the drift re-check before dispatch first could
	// not read Kosli; zero while it has not failed. The thread is told once.
	RecheckFailedAt time.Time `json:"recheck_failed_at,omitzero"`
	// FrozenUntil is, for an approved release held by a freeze, when the
	// freeze was to end when the thread was last told; zero if none held it.
	FrozenUntil time.Time `json:"frozen_until,omitzero"`
	// BreakGlass is set on an emergency release; nil on any other.
	BreakGlass *BreakGlass `json:"break_glass,omitempty"`
	// Details holds what later work needs and the store does not read.
	Details json.RawMessage `json:"details,omitempty"`

	History []Transition `json:"history,omitempty"`
}

// Approval is one person's approval of one manifest digest.
type Approval struct {
	UserID string    `json:"user_id"`
	At     time.Time `json:"at"`
	// Digest is the manifest digest the button carried.
	Digest string `json:"digest"`
}

// Decision is a person's decision with their reason, such as a rejection.
type Decision struct {
	UserID string    `json:"user_id"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason,omitempty"`
}

// Gate is the SDLC gate's result at propose time.
type Gate struct {
	// Mode is the pipeline's gate setting: "enforce" or "warn".
	Mode string `json:"mode"`
	// Passed is true when every incoming artifact is compliant.
	Passed  bool         `json:"passed"`
	Results []Compliance `json:"results,omitempty"`
}

// Gate modes, as the pipeline configuration spells them.
const (
	GateEnforce = "enforce"
	GateWarn    = "warn"
)

// Blocks reports whether the gate makes the release unapprovable: it failed
// and the pipeline enforces it.
func (g *Gate) Blocks() bool { return g != nil && !g.Passed && g.Mode != GateWarn }

// Evidence locates the release's trail in Kosli.
type Evidence struct {
	Flow  string `json:"flow"`
	Trail string `json:"trail"`
	URL   string `json:"url,omitempty"`
	// Control is the Kosli control the decisions are recorded for; empty
	// records none.
	Control string `json:"control,omitempty"`
	// Items is the evidence outbox: every attestation the release owes
	// Kosli, in order, with its delivery status.
	Items []EvidenceItem `json:"items,omitempty"`
	// WaitNotedAt is when the thread was told that a dispatch waits for
	// Kosli to record the decision; zero until then (it is told once).
	WaitNotedAt time.Time `json:"wait_noted_at,omitzero"`
}

// Run is the promotion workflow run that deploys the release.
type Run struct {
	ID           int64     `json:"id,omitempty"`
	URL          string    `json:"url,omitempty"`
	HTMLURL      string    `json:"html_url,omitempty"`
	Status       string    `json:"status,omitempty"`
	Conclusion   string    `json:"conclusion,omitempty"`
	DispatchedAt time.Time `json:"dispatched_at,omitzero"`
}

// Transition is one entry of a release's history. The first entry of every
// release has an empty From: the proposal.
type Transition struct {
	From State     `json:"from,omitempty"`
	To   State     `json:"to"`
	At   time.Time `json:"at"`
	// By is the Slack user id who caused the change, empty for the bot itself.
	By   string `json:"by,omitempty"`
	Note string `json:"note,omitempty"`
}

// Approvers returns the user ids that approved, in the order they approved.
func (r *Release) Approvers() []string {
	out := make([]string, len(r.Approvals))
	for i, a := range r.Approvals {
		out[i] = a.UserID
	}
	return out
}

// HasApproved reports whether user has approved the release.
func (r *Release) HasApproved(user string) bool {
	return slices.ContainsFunc(r.Approvals, func(a Approval) bool { return a.UserID == user })
}

// Remaining is how many more approvals the release needs.
func (r *Release) Remaining() int { return max(0, r.Required-len(r.Approvals)) }

// Expired reports whether the release's approval window closed at or before now.
func (r *Release) Expired(now time.Time) bool {
	return !r.ExpiresAt.IsZero() && !now.Before(r.ExpiresAt)
}
