package release

import (
	"slices"
	"strconv"
	"time"
)

// EvidenceKind is what an evidence item records in Kosli.
type EvidenceKind string

// The kinds of evidence a release records.
const (
	// EvidenceReport begins the release's trail, reports each artifact into
	// it with its promotion attestation, and attests the manifest.
	EvidenceReport EvidenceKind = "report"
	// EvidenceDecision records the release's decision once per artifact, for
	// the pipeline's control.
	EvidenceDecision EvidenceKind = "decision"
	// EvidenceOutcome records a generic attestation on the trail (the
	// deployment, the verification).
	EvidenceOutcome EvidenceKind = "outcome"
)

// EvidenceStatus is where an evidence item is in its delivery to Kosli.
type EvidenceStatus string

// Evidence statuses. Pending items are delivered in order; a decision
// superseded before it was delivered is never sent.
const (
	EvidencePending    EvidenceStatus = "pending"
	EvidenceRecorded   EvidenceStatus = "recorded"
	EvidenceGaveUp     EvidenceStatus = "failed"
	EvidenceSuperseded EvidenceStatus = "superseded"
)

// EvidenceItem is one entry of a release's evidence outbox. It is written in
// the release's body by the same compare-and-set as the change that causes
// it, so a state change and the evidence of it are never split; a worker
// delivers it to Kosli and records the outcome here.
type EvidenceItem struct {
	// ID is unique within the release: "report", "decision-2", "deployment".
	ID   string       `json:"id"`
	Kind EvidenceKind `json:"kind"`
	// Compliant is the verdict of a decision or an outcome.
	Compliant bool `json:"compliant"`
	// Cause is the state whose decision this is (approved, rejected, …).
	Cause State `json:"cause,omitempty"`
	// By is who caused it (a Slack user id), Note why, in their words.
	By   string `json:"by,omitempty"`
	Note string `json:"note,omitempty"`
	// Name and Data are an outcome's attestation name and user data.
	Name string         `json:"name,omitempty"`
	Data map[string]any `json:"data,omitempty"`

	Status    EvidenceStatus `json:"status"`
	Attempts  int            `json:"attempts,omitempty"`
	LastError string         `json:"last_error,omitempty"`
	CreatedAt time.Time      `json:"created_at"`
	// DoneAt is when it was recorded, given up on or superseded.
	DoneAt time.Time `json:"done_at,omitzero"`
}

// AddEvidence appends it to the release's outbox as pending and returns its
// id. A new decision supersedes any earlier one not yet recorded: only the
// latest verdict is sent, and a recorded one is overridden in Kosli by the
// newer attestation of the same name.
func (r *Release) AddEvidence(it EvidenceItem) string {
	if r.Evidence == nil {
		return ""
	}
	e := r.Evidence
	if it.ID == "" {
		it.ID = string(it.Kind) + "-" + strconv.Itoa(len(e.Items)+1)
	}
	if slices.ContainsFunc(e.Items, func(x EvidenceItem) bool { return x.ID == it.ID }) {
		return it.ID // the same change written twice (a retried compare-and-set)
	}
	if it.Kind == EvidenceDecision {
		for i := range e.Items {
			if x := &e.Items[i]; x.Kind == EvidenceDecision && x.Status == EvidencePending {
				x.Status, x.DoneAt = EvidenceSuperseded, it.CreatedAt
			}
		}
	}
	it.Status = EvidencePending
	e.Items = append(e.Items, it)
	return it.ID
}

// Item returns the outbox item with that id; the zero item when there is none.
func (e *Evidence) Item(id string) EvidenceItem {
	if e != nil {
		for _, it := range e.Items {
			if it.ID == id {
				return it
			}
		}
	}
	return EvidenceItem{}
}

// PendingItems returns the items still to be delivered, in order.
func (e *Evidence) PendingItems() []EvidenceItem {
	if e == nil {
		return nil
	}
	var out []EvidenceItem
	for _, it := range e.Items {
		if it.Status == EvidencePending {
			out = append(out, it)
		}
	}
	return out
}

// AwaitsDecision reports whether a dispatch must still wait for Kosli to
// record the release's compliant decision (the deploy's gate asserts it).
func (e *Evidence) AwaitsDecision() bool {
	return e != nil && e.Control != "" && !e.DecisionRecorded()
}

// Reported reports whether the trail and the manifest are in Kosli.
func (e *Evidence) Reported() bool {
	return e.Item("report").Status == EvidenceRecorded
}

// Pending reports whether any item still waits to be delivered.
func (e *Evidence) Pending() bool {
	return e != nil && slices.ContainsFunc(e.Items, func(x EvidenceItem) bool { return x.Status == EvidencePending })
}

// LastDecision is the release's latest decision item; the zero item when
// it has none.
func (e *Evidence) LastDecision() EvidenceItem {
	if e != nil {
		for i := len(e.Items) - 1; i >= 0; i-- {
			if e.Items[i].Kind == EvidenceDecision {
				return e.Items[i]
			}
		}
	}
	return EvidenceItem{}
}

// DecisionRecorded reports whether the release's latest decision is its
// approval and recorded in Kosli: what a dispatch waits for.
func (e *Evidence) DecisionRecorded() bool {
	it := e.LastDecision()
	return it.Approves() && it.Status == EvidenceRecorded
}

// Approves reports whether it is a decision that approves the release: the
// one a dispatch waits for. It is compliant, except for a break-glass
// release, whose approval is recorded non-compliant until it is reviewed.
func (it EvidenceItem) Approves() bool {
	return it.Kind == EvidenceDecision && it.Cause == Approved
}
