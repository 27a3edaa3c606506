package commands

import (
	"context"
	"errors"
	"fmt"

	"github.com/release-bot/release-bot/internal/config"
	"github.com/release-bot/release-bot/internal/kosli"
	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/store"
)

// rollbackScan is how many of a pipeline's latest releases are searched
// for the last one that succeeded.
const rollbackScan = 50

// rollback proposes putting back what the pipeline's target ran before a
// release (releaseID, or by default the last that succeeded): the artifacts
// of the target snapshot that release's manifest was planned against, read
// again from Kosli. It then goes the way of any release.
// A breakGlass reason makes it a break-glass release.
// A pipeline's change_ticket applies to a rollback as to any release.
func (h *Handler) rollback(ctx context.Context, inv *invocation, p *config.Pipeline, releaseID, breakGlass, ticket string) error {
	ct, err := changeTicket(p, ticket)
	if err != nil {
		return err
	}
	if err := h.refuseOpen(ctx, p); err != nil {
		return err
	}
	of, err := h.rollbackOf(ctx, p, releaseID)
	if err != nil {
		return err
	}
	data, err := h.d.Releases.Manifest(ctx, of.ID)
	if err != nil {
		return err
	}
	m, err := release.ParseManifest(data)
	if err != nil {
		return fmt.Errorf("the manifest of %s: %w", of.ID, err)
	}
	kctx, cancel := context.WithTimeout(ctx, h.d.KosliTimeout)
	defer cancel()
	d, err := h.d.Kosli.Diff(kctx, m.Target.SnapshotID, p.To)
	if err != nil {
		if gone := (*kosli.NoSnapshotError)(nil); errors.As(err, &gone) {
			return &refusalError{":no_entry: No rollback: " + esc(release.SnapshotGoneRefusal(m).Text) + "."}
		}
		return &kosliError{err: err, from: m.Target.SnapshotID, to: p.To}
	}
	rb, err := release.PlanRollback(&d, m, release.PlanOptions{Links: h.d.Links, Now: h.d.Now()})
	if refusal := (*release.RollbackRefusal)(nil); errors.As(err, &refusal) {
		return &refusalError{":no_entry: No rollback: " + esc(refusal.Text) + "."}
	} else if err != nil {
		return err
	}
	if err := refuseBlocked(&rb.Plan, p); err != nil {
		return err
	}
	inv.log.Info().Str("rollback_of", of.ID).Str("snapshot", m.Target.SnapshotID).Int("promotions", len(rb.Plan.Promotions)).Msg("rollback planned")
	return h.proposePlan(ctx, inv, p, proposal{plan: &rb.Plan, rollback: rb, breakGlass: breakGlass, ticket: ct})
}

// rollbackOf is the release to roll back: the one named, which must be the
// pipeline's and must have deployed (succeeded, or failed, timed out or was
// cancelled while deploying: what it changed is put back), or else the
// pipeline's last release that succeeded.
func (h *Handler) rollbackOf(ctx context.Context, p *config.Pipeline, id string) (*release.Release, error) {
	if id == "" {
		list, err := h.d.Releases.List(ctx, p.Name, rollbackScan)
		if err != nil {
			return nil, err
		}
		for _, r := range list {
			if r.State == release.Succeeded {
				return r, nil
			}
		}
		return nil, &refusalError{fmt.Sprintf("No rollback: pipeline `%s` has no release that succeeded to roll back. `/release list %s` shows its releases.", p.Name, p.Name)}
	}
	r, err := h.d.Releases.Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &refusalError{fmt.Sprintf("No rollback: there is no release `%s`. `/release list %s` shows the pipeline's releases.", id, p.Name)}
	} else if err != nil {
		return nil, err
	}
	if r.Pipeline != p.Name {
		return nil, &refusalError{fmt.Sprintf("No rollback: `%s` is a release of pipeline `%s`, not `%s`.", r.ID, r.Pipeline, p.Name)}
	}
	if _, deployed := r.EnteredAt(release.Deploying); !deployed || !r.State.Terminal() {
		return nil, &refusalError{fmt.Sprintf("No rollback: `%s` is %s and never deployed anything, so there is nothing to put back.", r.ID, r.State.Label())}
	}
	return r, nil
}

// refuseUnknown refuses a rollback that would restore an artifact Kosli no
// longer knows: the gate asked Kosli about each, and an unknown one cannot
// be what ran before.
func refuseUnknown(rb *release.Rollback, m *release.Manifest, gate *release.Gate) error {
	if gate == nil {
		return nil
	}
	for _, c := range gate.Results {
		if !c.Unknown {
			continue
		}
		service := c.Fingerprint
		for _, a := range m.Artifacts {
			if a.Digest == "sha256:"+c.Fingerprint {
				service = a.Service
			}
		}
		return &refusalError{":no_entry: No rollback: " + esc(release.UnknownArtifactRefusal(rb.Of, service, c.Fingerprint).Text) + "."}
	}
	return nil
}
