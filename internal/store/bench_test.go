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
	benchApprove(b, redistest.Start(b), store.Options{Prefix: redistest.Prefix(b)})
}

// BenchmarkApproveSentinel is BenchmarkApprove on a master with one replica
// behind three Sentinels, each approval acknowledged once the replica has it
// (WAIT 1 in the same round trip).
func BenchmarkApproveSentinel(b *testing.B) {
	tp := redistest.StartTopology(b, redistest.TopologyOptions{})
	benchApprove(b, tp.Client(b), store.Options{Prefix: redistest.Prefix(b), Durable: store.Durability{Replicas: 1}})
}

func benchApprove(b *testing.B, rdb *redis.Client, opts store.Options) {
	if n := rdb.Options().PoolSize; n < clients {
		b.Fatalf("pool of %d connections for %d clients", n, clients)
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

	h := &countHook{}
	rdb.AddHook(h)
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
	b.ReportMetric(float64(h.trips.Load())/float64(b.N), "round-trips/op")
}
