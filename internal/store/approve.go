package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/release-bot/release-bot/internal/release"
)

// Outcome is what became of one approval click.
type Outcome string

// Approval outcomes.
const (
	// Counted: the approval counted; more are needed.
	Counted Outcome = "counted"
	// Duplicate: this person had approved already; nothing changed.
	Duplicate Outcome = "duplicate"
	// Approved: this approval was the last one needed; the release is now approved.
	// Exactly one click per release gets this outcome.
	Approved Outcome = "approved"
	// WrongState: the release is no longer proposed; State says what it is.
	WrongState Outcome = "wrong_state"
	// WrongDigest: the button carried a digest that is not the release's.
	WrongDigest Outcome = "wrong_digest"
	// Expired: the approval window had closed; the release is now expired
	// and its pipeline free.
	Expired Outcome = "expired"
	// NotFound: no such release.
	NotFound Outcome = "not_found"
)

// ApproveResult is the state of the release right after an approval attempt.
type ApproveResult struct {
	Outcome  Outcome
	State    release.State
	Count    int
	Required int
	Version  int64
}

// Approve records a's approval of release id in one round trip (one EVALSHA),
// checking in the same atomic step that the release is proposed, that
// a.Digest is its manifest digest and that its window has not closed by the
// store's clock. A person counts once. When the count reaches the required
// number the release moves to approved and the result says Approved: exactly
// one caller sees that, however many click at once on however many replicas.
// Who may approve is the caller's business (release.Policy); this is the
// atomic half. a.At defaults to the store's clock. With a Durability, an
// error wrapping ErrNotDurable comes with the result as Redis answered it:
// the approval is on the master, but not promised to survive a failover.
func (s *Store) Approve(ctx context.Context, id string, a release.Approval) (ApproveResult, error) {
	if a.UserID == "" {
		return ApproveResult{}, errors.New("approve: user id is required")
	}
	now := s.now()
	if a.At.IsZero() {
		a.At = now
	}
	approval, err := json.Marshal(a)
	if err != nil {
		return ApproveResult{}, fmt.Errorf("approve release %s: %w", id, err)
	}
	entry, err := json.Marshal(release.Transition{From: release.Proposed, To: release.Approved, At: a.At, By: a.UserID})
	if err != nil {
		return ApproveResult{}, fmt.Errorf("approve release %s: %w", id, err)
	}
	res, err := s.eval(ctx, approveScript, true, PipelineOf(id), s.releaseKeys(id),
		id, ms(now), now.Format(time.RFC3339Nano), s.retention.Milliseconds(),
		a.UserID, approval, a.Digest, entry,
	)
	var notDurable *NotDurableError
	if err != nil && !errors.As(err, &notDurable) {
		return ApproveResult{}, fmt.Errorf("approve release %s: %w", id, err)
	}
	if len(res) != 5 {
		return ApproveResult{}, fmt.Errorf("approve release %s: unexpected script reply %v", id, res)
	}
	outcome, _ := res[0].(string)
	state, _ := res[1].(string)
	count, _ := res[2].(int64)
	required, _ := res[3].(int64)
	version, _ := res[4].(int64)
	if o := Outcome(outcome); o == Approved || o == Expired {
		s.entered(release.State(state))
	}
	r := ApproveResult{
		Outcome:  Outcome(outcome),
		State:    release.State(state),
		Count:    int(count),
		Required: int(required),
		Version:  version,
	}
	if notDurable != nil {
		return r, fmt.Errorf("approve release %s: %w", id, err)
	}
	return r, nil
}
