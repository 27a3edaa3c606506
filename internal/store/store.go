// Package store keeps release state in Redis so that any number of bot
// replicas share it. Every change of shared state is one atomic Redis
// operation: a Lua compare-and-set (scripts.go) or SET NX PX, never a read
// followed by a write.
//
// Key layout (prefix "rb:" by default). Every key of a pipeline and of its
// releases carries the pipeline's name as a Redis Cluster hash tag, so that
// they share one hash slot and each script and MULTI stays on one node:
//
//	rb:{prod}:release:<id>            hash: state, version, digest, pipeline, required, expires_at_ms, body (JSON)
//	rb:{prod}:release:<id>:approvals  hash: user id → Approval JSON (HSETNX: a person counts once)
//	rb:{prod}:release:<id>:history    list of Transition JSON, oldest first
//	rb:{prod}:release:<id>:manifest   the manifest bytes
//	rb:{prod}:release:<id>:evidence   hash: the evidence outbox's promotions and marks
//	rb:{prod}:active                  the id of the pipeline's open release: one at a time
//	rb:{prod}:releases                zset of release ids scored by creation time (ms)
//	rb:{prod}:freeze                  the pipeline's ad hoc freeze (/release freeze), JSON
//	rb:{prod}:evidence:due            zset of release ids by when their evidence outbox is due
//	rb:{prod}:seq:<day>               the day's id counter
//	rb:{prod}:sync                    a counter each durable decision bumps, so that WAIT covers it
//	rb:evidence:pipelines             set of the pipelines that have an evidence:due set
//	rb:home:viewers                   zset of the users who opened the Home tab, by when (ms)
//	rb:once:{<key>}                   dedup markers (Once); reply:{<key>}, reply:claim:{<key>} with them
//	rb:lease:<name>                   leases (AcquireLease), value = owner; a release's outbox
//	                                  lease is lease:{prod}:evidence:<id> (EvidenceLease)
//	rb:attempt:<key>                  attempt records
//
// A release id names its pipeline (NextID: "prod-2026-11-24-1"), so the
// slot of any release is known from its id alone (PipelineOf). A release's
// keys get the retention expiry when it reaches a terminal state. A prefix
// with a hash tag of its own (such as "{rb}:") puts every key in one slot.
package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/release-bot/release-bot/internal/release"
)

// DefaultPrefix namespaces every key the store writes.
const DefaultPrefix = "rb:"

// DefaultRetention is how long a finished release is kept.
const DefaultRetention = 90 * 24 * time.Hour

// seqTTL keeps a day's id counter a little longer than the day in any zone.
const seqTTL = 72 * time.Hour

// Options configures a Store. The zero value is usable.
type Options struct {
	// Prefix is put before every key; DefaultPrefix when empty.
	Prefix string
	// Now is the clock; time.Now when nil. Expiry of approvals, history
	// timestamps and creation times all read it, so tests can move it.
	Now func() time.Time
	// Retention is how long a release's keys live after it ends; DefaultRetention when zero.
	Retention time.Duration
	// OnTransition, when set, is called once for every state change this
	// Store wrote, with the state entered: a proposal, an approval that
	// completed the count, an expiry, any Transition. It is not called for
	// a write that changed no state (Amend, a counted approval), nor for a
	// lost compare-and-set, so that a counter of it counts each change once
	// across any number of replicas.
	OnTransition func(to release.State)
	// Durable is how many replicas must hold a decision before it is
	// reported done (see Durability); the zero value waits for none.
	Durable Durability
}

// Store is release state in Redis. It is safe for concurrent use, and any
// number of Stores (in any number of processes) may share one Redis.
type Store struct {
	rdb       redis.UniversalClient
	prefix    string
	now       func() time.Time
	retention time.Duration
	entered   func(release.State)
	durable   Durability
}

// New returns a Store over rdb. It does no I/O; see Ping.
func New(rdb redis.UniversalClient, opts Options) *Store {
	s := &Store{rdb: rdb, prefix: opts.Prefix, now: opts.Now, retention: opts.Retention, entered: opts.OnTransition, durable: opts.Durable}
	if s.prefix == "" {
		s.prefix = DefaultPrefix
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.retention <= 0 {
		s.retention = DefaultRetention
	}
	if s.entered == nil {
		s.entered = func(release.State) {}
	}
	return s
}

// Errors the store returns; test them with errors.Is.
var (
	// ErrNotFound: no release has that id (or it outlived its retention).
	ErrNotFound = errors.New("release not found")
	// ErrConflict: the release changed between reading it and writing it, or
	// its state does not allow the change. A *ConflictError says its state now.
	ErrConflict = errors.New("release changed concurrently")
	// ErrExists: Create was given an id that is already taken.
	ErrExists = errors.New("release id already exists")
	// ErrInvalidMove: the transition is not in the state graph from any state
	// the caller allows; a programming error, not a race.
	ErrInvalidMove = errors.New("transition not allowed by the state graph")
)

// ConflictError says what a release is now when a compare-and-set lost.
type ConflictError struct {
	ID      string
	State   release.State
	Version int64
}

// Error says what the release is now; for logs, not for people.
func (e *ConflictError) Error() string {
	return fmt.Sprintf("release %s is %s (version %d): %v", e.ID, e.State, e.Version, ErrConflict)
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// ActiveReleaseError is Create's answer when the pipeline already has an
// open release; ID lets the bot link to it.
type ActiveReleaseError struct {
	Pipeline string
	ID       string
	State    release.State
}

// Error names the open release; for logs, not for people.
func (e *ActiveReleaseError) Error() string {
	return fmt.Sprintf("pipeline %s already has an open release: %s (%s)", e.Pipeline, e.ID, e.State)
}

// PipelineOf returns the pipeline a release id names: id without its
// "-<day>-<n>" tail (NextID's form), or id itself when it has none.
func PipelineOf(id string) string {
	i := len(id)
	for range 4 { // n, then the day's three parts
		j := strings.LastIndexByte(id[:i], '-')
		if j <= 0 || !digits(id[j+1:i]) {
			return id
		}
		i = j
	}
	return id[:i]
}

func digits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// slot is the start of every key of pipeline: the prefix and the hash tag.
func (s *Store) slot(pipeline string) string { return s.prefix + "{" + pipeline + "}:" }

// releasesPrefix is the start of the keys of pipeline's releases.
func (s *Store) releasesPrefix(pipeline string) string { return s.slot(pipeline) + "release:" }

func (s *Store) releaseKey(id string) string { return s.releasesPrefix(PipelineOf(id)) + id }

// releaseKeys are the keys one release's scripts take, in the order they
// expect: its own, then its pipeline's lock and due set, all in one slot.
func (s *Store) releaseKeys(id string) []string {
	k, p := s.releaseKey(id), PipelineOf(id)
	return []string{k, k + ":approvals", k + ":history", k + ":manifest", k + ":evidence", s.activeKey(p), s.dueKey(p)}
}

func (s *Store) activeKey(pipeline string) string { return s.slot(pipeline) + "active" }
func (s *Store) indexKey(pipeline string) string  { return s.slot(pipeline) + "releases" }

// Ping checks that Redis answers, for readiness. On Redis Cluster every
// master of the slot map (read afresh) must answer and say cluster_state:ok
// (every slot has a master; https://redis.io/docs/latest/commands/cluster-info/):
// while a master is down and not yet replaced, the pipelines in its slots
// cannot be served.
func (s *Store) Ping(ctx context.Context) error {
	if cluster, ok := s.rdb.(*redis.ClusterClient); ok {
		if err := cluster.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
			info, err := m.ClusterInfo(ctx).Result()
			if err != nil {
				return fmt.Errorf("master %s: %w", m.Options().Addr, err)
			}
			if !strings.Contains(info, "cluster_state:ok") {
				return fmt.Errorf("master %s: the cluster is down (a slot has no master)", m.Options().Addr)
			}
			return nil
		}); err != nil {
			return fmt.Errorf("redis cluster ping: %w", err)
		}
		return nil
	}
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis ping: %w", err)
	}
	return nil
}

// NextID returns the next release id of pipeline for day, as people say it:
// "prod-2026-11-24-1", then "-2". The day is taken in day's own location;
// the counter outlives the day by a little, so pass today, not an old day.
func (s *Store) NextID(ctx context.Context, pipeline string, day time.Time) (string, error) {
	date := day.Format(time.DateOnly)
	key := s.slot(pipeline) + "seq:" + date
	var incr *redis.IntCmd
	if _, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		incr = p.Incr(ctx, key)
		p.Expire(ctx, key, seqTTL)
		return nil
	}); err != nil {
		return "", fmt.Errorf("next release id: %w", err)
	}
	return pipeline + "-" + date + "-" + strconv.FormatInt(incr.Val(), 10), nil
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}
