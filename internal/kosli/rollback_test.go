package kosli_test

import (
	"errors"
	"testing"

	"github.com/release-bot/release-bot/internal/kosli"
	"github.com/release-bot/release-bot/internal/kosli/kositest"
)

// A rollback diffs a release's target snapshot (env#N) against the latest:
// Kosli's answer for an N it does not have is a *NoSnapshotError naming it.
func TestEnvDiffOfASnapshotKosliDoesNotHave(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.srv.SetEnvironment("aws-prod", []kositest.Artifact{running(fpOld, "nginx", 1)})
	h.srv.SetEnvironment("aws-prod", []kositest.Artifact{running(fpNginx, "nginx", 1)})
	d, err := h.c.EnvDiff(ctx(t), "aws-prod#1", "aws-prod")
	if err != nil || d.Source.SnapshotID != "aws-prod#1" || len(d.Source.Artifacts) != 1 || d.Source.Artifacts[0].Fingerprint != fpOld {
		t.Fatalf("aws-prod#1 against aws-prod: %+v, %v", d, err)
	}
	_, err = h.c.EnvDiff(ctx(t), "aws-prod#12", "aws-prod")
	var gone *kosli.NoSnapshotError
	if !errors.As(err, &gone) || gone.Snappish != "aws-prod#12" || !errors.Is(err, kosli.ErrNotFound) {
		t.Fatalf("got %v, want a *NoSnapshotError for aws-prod#12 that is a 404", err)
	}
	// An unknown environment is not a missing snapshot.
	_, err = h.c.EnvDiff(ctx(t), "aws-nowhere#1", "aws-prod")
	if errors.As(err, &gone) || !errors.Is(err, kosli.ErrNotFound) {
		t.Errorf("unknown environment: %v", err)
	}
}

// An artifact Kosli no longer knows is unknown to an assert and has no
// provenance in a diff, though the snapshot still lists it.
func TestForgottenArtifact(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.srv.SetEnvironment("aws-prod", []kositest.Artifact{running(fpOld, "nginx", 1)})
	h.srv.SetEnvironment("aws-prod", []kositest.Artifact{running(fpNginx, "nginx", 1)})
	h.srv.ForgetArtifact(fpOld)
	c, err := h.c.Compliance(ctx(t), fpOld, "aws-prod")
	if err != nil || !c.Unknown || c.Compliant {
		t.Errorf("compliance %+v, %v", c, err)
	}
	d, err := h.c.EnvDiff(ctx(t), "aws-prod#1", "aws-prod")
	if err != nil {
		t.Fatal(err)
	}
	if a := d.Source.Artifacts; len(a) != 1 || a[0].Fingerprint != fpOld || a[0].HasProvenance() {
		t.Errorf("the forgotten artifact in the diff: %+v", a)
	}
	if a := d.Target.Artifacts; len(a) != 1 || !a[0].HasProvenance() {
		t.Errorf("an artifact still known: %+v", a)
	}
	s, err := h.c.Snapshot(ctx(t), "aws-prod", "1")
	if err != nil || len(s.Artifacts) != 1 || s.Artifacts[0].FlowName != "" {
		t.Errorf("snapshot 1: %+v, %v", s, err)
	}
}
