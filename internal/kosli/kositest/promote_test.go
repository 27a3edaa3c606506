package kositest_test

import (
	"context"
	"slices"
	"testing"

	"github.com/release-bot/release-bot/internal/kosli"
	"github.com/release-bot/release-bot/internal/kosli/kositest"
	"github.com/release-bot/release-bot/internal/secret"
)

func TestPromoteMovesArtifactsByFlow(t *testing.T) {
	fake := kositest.Start(t, "acme", "tok-123456")
	fake.SetEnvironment("beta", []kositest.Artifact{
		{Name: "a:2", Fingerprint: "a2", Flow: "a-ci", Instances: 1},
		{Name: "b:2", Fingerprint: "b2", Flow: "b-ci", Instances: 1},
	})
	fake.SetEnvironment("prod", []kositest.Artifact{
		{Name: "a:1", Fingerprint: "a1", Flow: "a-ci", Instances: 1},
		{Name: "b:1", Fingerprint: "b1", Flow: "b-ci", Instances: 1},
		{Name: "c:1", Fingerprint: "c1", Flow: "c-ci", Instances: 1},
	})
	if n := fake.Promote("beta", "prod", []string{"a2"}); n != 2 {
		t.Fatalf("snapshot %d, want 2", n)
	}
	c, err := kosli.New(kosli.Options{Host: fake.URL(), Org: "acme", Token: secret.New("tok-123456")})
	if err != nil {
		t.Fatal(err)
	}
	running, err := c.Running(context.Background(), "prod")
	if err != nil {
		t.Fatal(err)
	}
	got := running.Fingerprints
	slices.Sort(got)
	if !slices.Equal(got, []string{"a2", "b1", "c1"}) || running.SnapshotID != "prod#2" {
		t.Fatalf("prod runs %v in %s", got, running.SnapshotID)
	}
	if fake.Promote("beta", "prod", []string{"nope"}) != 0 {
		t.Error("promoting nothing made a snapshot")
	}
}
