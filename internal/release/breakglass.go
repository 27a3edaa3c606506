package release

import "time"

// BreakGlass marks an emergency release: proposed by someone the pipeline
// allows, it ignores freezes, may need fewer approvals, and must be
// reviewed by an approver after the fact, by ReviewDue.
type BreakGlass struct {
	// Reason is why, as its proposer typed it.
	Reason string    `json:"reason"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
	// ReviewDue is when its review is due: proposal + review_within.
	ReviewDue time.Time `json:"review_due"`
	// Review is the approvers' verdict; nil until one is given.
	Review *Review `json:"review,omitempty"`
}

// Review is an approver's verdict on a break-glass release after the fact.
type Review struct {
	UserID string    `json:"user_id"`
	At     time.Time `json:"at"`
	// OK is true for "Reviewed", false for "Not OK" (flagged).
	OK bool `json:"ok"`
	// Reason is optional for OK and required when flagged.
	Reason string `json:"reason,omitempty"`
}

// NeedsReview reports whether r is a break-glass release that shipped (it
// reached dispatching) and has not been reviewed yet. One that ended before
// it shipped (rejected, cancelled, stale) changed nothing to review.
func (r *Release) NeedsReview() bool {
	if r.BreakGlass == nil || r.BreakGlass.Review != nil {
		return false
	}
	_, shipped := r.EnteredAt(Dispatching)
	return shipped || r.State == Dispatching || r.State == Deploying
}

// ReviewOverdue reports whether r needs its review and it was due before now.
func (r *Release) ReviewOverdue(now time.Time) bool {
	return r.NeedsReview() && now.After(r.BreakGlass.ReviewDue)
}
