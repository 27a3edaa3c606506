package main

import (
	"testing"

	"github.com/release-bot/release-bot/internal/store/redistest"
)

// TestClusterRelease: the whole release flow on a real Redis Cluster of three
// masters with a replica each (REDIS_URL redis+cluster://): propose, two
// approvals (each acknowledged once the replica of its slot's master has
// it), the dispatch, the run, one thread reply per artifact, the evidence.
// A script or MULTI over keys of two slots would fail here with CROSSSLOT.
func TestClusterRelease(t *testing.T) {
	t.Parallel()
	cl := redistest.StartCluster(t, redistest.ClusterOptions{})
	b := startHA(t, cl.URL())
	b.command(alice, releaseChannel, "propose")
	msg := b.releaseMessage()
	b.click(carol, msg.TS, "release_approve")
	b.threadHas(msg.TS, "approved (1 of 2)")
	b.click(bob, msg.TS, "release_approve")
	b.threadHas(msg.TS, "The release is approved")
	b.assertShippedOnce(msg, cl.Client(t), []string{bob, carol})
	if n := len(b.kosli.Attestations()); n == 0 {
		t.Error("no evidence reached Kosli")
	}
}
