package store_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/store"
	"github.com/release-bot/release-bot/internal/store/redistest"
)

// clients is the number of concurrent approvers the benchmark runs.
const clients = 50

// BenchmarkApprove measures approval transitions on a real redis-server with
// 50 concurrent clients. Every op is one approval by a distinct person:
// releases need two, so half the ops count and half approve. The bar is
// 5,000 approvals/s and 1 round trip per approval.
func BenchmarkApprove(b *testing.B) {
	rdb, pool, h := hooked(redistest.Start(b))
	benchApprove(b, rdb, pool, h, store.Options{Prefix: redistest.Prefix(b)})
}

// BenchmarkApproveSentinel is BenchmarkApprove on a master with one replica
// behind three Sentinels, each approval acknowledged once the replica has it
// (WAIT 1 in the same round trip).
func BenchmarkApproveSentinel(b *testing.B) {
	tp := redistest.StartTopology(b, redistest.TopologyOptions{})
	rdb, pool, h := hooked(tp.Client(b))
	benchApprove(b, rdb, pool, h, store.Options{Prefix: redistest.Prefix(b), Durable: store.Durability{Replicas: 1}})
}

// hooked is a single client with a round-trip counter, for benchApprove.
func hooked(c *redis.Client) (redis.UniversalClient, int, *countHook) {
	h := &countHook{}
	c.AddHook(h)
	return c, c.Options().PoolSize, h
}

// BenchmarkApproveCluster is BenchmarkApprove on a Redis Cluster of three
// masters with a replica each; the releases' pipelines spread over the
// masters by their hash tags, and each approval waits for the replica of
// its slot's master (WAIT 1 on that master, in the same round trip).
func BenchmarkApproveCluster(b *testing.B) {
	cl := redistest.StartCluster(b, redistest.ClusterOptions{})
	cc := cl.Client(b)
	h := &countHook{}
	// Round trips are counted on the node clients: a durable approval's
	// pipeline goes to its slot's master directly.
	cc.OnNewNode(func(n *redis.Client) { n.AddHook(h) })
	benchApprove(b, cc, cc.Options().PoolSize, h, store.Options{Prefix: redistest.Prefix(b), Durable: store.Durability{Replicas: 1}})
}

func benchApprove(b *testing.B, rdb redis.UniversalClient, pool int, h *countHook, opts store.Options) {
	if pool < clients {
		b.Fatalf("pool of %d connections for %d clients", pool, clients)
	}
	s := store.New(rdb, opts)
	ctx := context.Background()

	// One release per two ops, each on its own pipeline (one open release per
	// pipeline), created by as many clients before the clock starts.
	releases := b.N/2 + 1
	var next atomic.Int64
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < releases; i = int(next.Add(1)) - 1 {
				r := &release.Release{ID: fmt.Sprintf("p%d-2026-11-24-1", i), Pipeline: fmt.Sprintf("p%d", i),
					ManifestDigest: digest, Proposer: "UPROPOSER", Required: 2}
				if err := s.Create(ctx, r, nil, nil); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if b.Failed() {
		return
	}

	before := h.trips.Load()
	var op, approved atomic.Int64
	b.SetParallelism((clients + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			k := op.Add(1) - 1
			res, err := s.Approve(ctx, fmt.Sprintf("p%d-2026-11-24-1", k/2), release.Approval{UserID: fmt.Sprintf("U%d", k%2), Digest: digest})
			switch {
			case err != nil:
				b.Error(err)
				return
			case res.Outcome == store.Approved:
				approved.Add(1)
			case res.Outcome != store.Counted:
				b.Errorf("outcome %s", res.Outcome)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "approvals/s")
	b.ReportMetric(float64(approved.Load())/b.Elapsed().Seconds(), "releases-approved/s")
	b.ReportMetric(float64(h.trips.Load()-before)/float64(b.N), "round-trips/op")
}
