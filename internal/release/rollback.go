package release

import (
	"fmt"
	"strings"
)

// Rollback is a plan that puts back what a pipeline's target ran before one
// of its releases: the artifacts of the target's snapshot that release was
// planned against (its manifest's target.snapshotId), promoted into the
// target as it is now.
type Rollback struct {
	// Plan promotes, for each service the release replaced, what ran before
	// it. Its Source is the earlier snapshot of the target.
	Plan Plan
	// Of is the id of the release rolled back.
	Of string
	// Added are the services the release added: there was nothing before
	// them to put back, so a rollback leaves them running.
	Added []string
}

// RollbackRefusalKind names why a rollback cannot be proposed.
type RollbackRefusalKind string

// Rollback refusal kinds.
const (
	// SnapshotGone: Kosli no longer has the snapshot the release was planned
	// against, or what it has under that id is not that snapshot.
	SnapshotGone RollbackRefusalKind = "snapshot_gone"
	// ArtifactUnknown: an artifact to restore is no longer known to Kosli.
	ArtifactUnknown RollbackRefusalKind = "artifact_unknown"
	// NothingToRestore: the target already runs what it ran before the release.
	NothingToRestore RollbackRefusalKind = "nothing_to_restore"
)

// RollbackRefusal says why a rollback cannot be proposed, in words for the
// person who asked (plain text: the caller escapes it for Slack).
type RollbackRefusal struct {
	Kind RollbackRefusalKind
	Text string
}

func (r *RollbackRefusal) Error() string { return r.Text }

// SnapshotGoneRefusal is the refusal for a release whose target snapshot
// Kosli no longer has.
func SnapshotGoneRefusal(of *Manifest) *RollbackRefusal {
	return &RollbackRefusal{Kind: SnapshotGone, Text: fmt.Sprintf(
		"Kosli no longer has %s, the snapshot of %s that %s was planned against, so what ran before it cannot be read",
		of.Target.SnapshotID, of.Target.Environment, of.ReleaseID)}
}

// UnknownArtifactRefusal is the refusal for an artifact to restore that
// Kosli does not know (any more).
func UnknownArtifactRefusal(releaseID, service, fingerprint string) *RollbackRefusal {
	return &RollbackRefusal{Kind: ArtifactUnknown, Text: fmt.Sprintf(
		"%s ran %s before %s, and Kosli no longer knows that artifact: it cannot be restored",
		service, shortFP(fingerprint), releaseID)}
}

// PlanRollback plans the rollback of the release whose manifest is of,
// from d: Kosli's diff of of.Target.SnapshotID (snappish1, what ran before)
// against the target's latest snapshot (snappish2, what runs now). It
// refuses, with a *RollbackRefusal, when the diff's first snapshot is not
// the one the release was planned against (or no longer holds what the
// release replaced), when an artifact to restore has no provenance in
// Kosli any more, and when nothing would change. A plan with blockers is
// returned as it is, for the caller to refuse like any other.
func PlanRollback(d *Diff, of *Manifest, opts PlanOptions) (*Rollback, error) {
	if d.Source.SnapshotID != of.Target.SnapshotID {
		return nil, SnapshotGoneRefusal(of)
	}
	before := map[string]*Artifact{}
	for _, g := range [][]Artifact{d.Source.Artifacts, d.Changed.Artifacts, d.NotChanged.Artifacts} {
		for i := range g {
			if _, seen := before[g[i].Fingerprint]; !seen {
				before[g[i].Fingerprint] = &g[i]
			}
		}
	}
	rb := &Rollback{Of: of.ReleaseID}
	var flows []string
	for _, a := range of.Artifacts {
		if a.Replaces == nil {
			rb.Added = append(rb.Added, a.Service)
			continue
		}
		fp := strings.TrimPrefix(a.Replaces.Digest, "sha256:")
		was, ok := before[fp]
		switch {
		case !ok:
			return nil, &RollbackRefusal{Kind: SnapshotGone, Text: fmt.Sprintf(
				"%s in Kosli no longer holds %s (%s), which %s replaced: it is not the snapshot %s was planned against, so what ran before it cannot be read",
				of.Target.SnapshotID, a.Service, shortFP(fp), of.ReleaseID, of.ReleaseID)}
		case !was.HasProvenance():
			return nil, UnknownArtifactRefusal(of.ReleaseID, a.Service, fp)
		}
		flows = append(flows, was.Flow)
	}
	if len(flows) > 0 {
		opts.Services = flows
		rb.Plan = Compute(d, opts)
	}
	if !rb.Plan.Refused() && len(rb.Plan.Promotions) == 0 {
		why := fmt.Sprintf("%s already runs what it ran before %s", of.Target.Environment, of.ReleaseID)
		if len(flows) == 0 {
			why = fmt.Sprintf("%s only added services (%s): there is nothing from before it to put back", of.ReleaseID, strings.Join(rb.Added, ", "))
		}
		return nil, &RollbackRefusal{Kind: NothingToRestore, Text: "Nothing would change: " + why}
	}
	return rb, nil
}
