package store

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/release-bot/release-bot/internal/release"
)

// DefaultWaitTimeout bounds how long a decision waits for its replicas. It
// stays below go-redis's 3s read timeout: the WAIT travels in the same
// pipeline as the write and is read with the pipeline's deadline.
const DefaultWaitTimeout = time.Second

// Durability is how many replicas must hold a decision (an approval, a
// rejection, a cancellation, the claim of a dispatch) before the store
// reports it done. Redis replicates asynchronously: a write the master
// acknowledged can be lost when the master dies before a replica has it.
// WAIT closes that window for the writes that are promised to a person.
type Durability struct {
	// Replicas is the n of WAIT n timeout; 0 (the zero value) waits for none.
	Replicas int
	// Timeout bounds the WAIT; DefaultWaitTimeout when zero.
	Timeout time.Duration
}

// ErrNotDurable: Redis did not confirm that enough replicas hold the write in
// time. The write may or may not survive a failover; the caller must not
// promise it to anyone, and should ask the person to try again (a repeated
// approval counts once). A *NotDurableError says how many replicas answered.
var ErrNotDurable = errors.New("write not acknowledged by enough Redis replicas")

// NotDurableError is ErrNotDurable with the figures, for logs.
type NotDurableError struct {
	// Want is the replicas required, Got those that acknowledged (-1 when
	// the WAIT itself failed, e.g. the connection dropped).
	Want, Got int
	// Err is why the WAIT failed, if it did.
	Err error
}

// Error says how many replicas confirmed; for logs, not for people.
func (e *NotDurableError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%v: wait for %d: %v", ErrNotDurable, e.Want, e.Err)
	}
	return fmt.Sprintf("%v: %d of %d", ErrNotDurable, e.Got, e.Want)
}

// Is makes errors.Is(err, ErrNotDurable) true.
func (e *NotDurableError) Is(target error) bool { return target == ErrNotDurable }

// Unwrap returns why the WAIT failed, if it did.
func (e *NotDurableError) Unwrap() error { return e.Err }

// durableMove reports whether a move to state to is a decision that must be
// durable before anyone is told of it.
func durableMove(to release.State) bool {
	switch to {
	case release.Approved, release.Rejected, release.Cancelled, release.Dispatching:
		return true
	}
	return false
}

// eval runs script over keys of pipeline's slot, and, when durable and the store
// has a Durability, a WAIT in the same pipeline: WAIT counts the replicas
// that have every write of its own connection, so it must share the
// script's connection. It is still one round trip. A script missing from
// the server's cache (a new master after a failover) is sent whole once. A
// nil error means that everything Redis held when the script ran is on the
// replicas: an answer that only read (a duplicate, a lost compare-and-set)
// is durable too.
//
// On Redis Cluster, WAIT is per node and has no key to route it by (go-redis
// would send it to every shard, which cannot be pipelined), so the pipeline
// goes to the master of the pipeline's slot itself, on one connection; a
// failure there (a dead master, a MOVED slot) makes the cluster client
// reload the slot map, and the caller asks the person to click again.
func (s *Store) eval(ctx context.Context, script *redis.Script, durable bool, pipeline string, keys []string, args ...any) ([]any, error) {
	if !durable || s.durable.Replicas <= 0 {
		return script.Run(ctx, s.rdb, keys, args...).Slice()
	}
	timeout := s.durable.Timeout
	if timeout <= 0 {
		timeout = DefaultWaitTimeout
	}
	var node redis.Cmdable = s.rdb
	cluster, _ := s.rdb.(*redis.ClusterClient)
	if cluster != nil {
		master, err := cluster.MasterForKey(ctx, keys[0])
		if err != nil {
			return nil, err
		}
		node = master
	}
	for attempt := 0; ; attempt++ {
		var run *redis.Cmd
		var wait *redis.IntCmd
		_, _ = node.Pipelined(ctx, func(p redis.Pipeliner) error {
			if attempt == 0 {
				run = script.EvalSha(ctx, p, keys, args...)
			} else {
				run = script.Eval(ctx, p, keys, args...)
			}
			// A write of this connection after the script's, so that WAIT
			// also covers what the script only read: a duplicate approval
			// is durable once its first click is, whoever wrote that.
			p.Incr(ctx, s.slot(pipeline)+"sync")
			wait = redis.NewIntCmd(ctx, "wait", s.durable.Replicas, timeout.Milliseconds())
			_ = p.Process(ctx, wait)
			return nil
		})
		if attempt == 0 && redis.HasErrorPrefix(run.Err(), "NOSCRIPT") {
			continue
		}
		res, err := run.Slice()
		if err != nil {
			if cluster != nil {
				cluster.ReloadState(ctx)
			}
			return nil, err
		}
		if err := wait.Err(); err != nil {
			return res, &NotDurableError{Want: s.durable.Replicas, Got: -1, Err: err}
		}
		if got := int(wait.Val()); got < s.durable.Replicas {
			return res, &NotDurableError{Want: s.durable.Replicas, Got: got}
		}
		return res, nil
	}
}

// ConnectedReplicas returns the connected_slaves of the Redis that rdb
// writes to (INFO replication), for choosing a default Durability: 1 when
// the master has replicas, 0 on a single server. On Redis Cluster it is the
// fewest any master has. A server that does not answer INFO replication (an
// embedded or managed one) counts as having none.
func ConnectedReplicas(ctx context.Context, rdb redis.UniversalClient) (int, error) {
	cluster, ok := rdb.(*redis.ClusterClient)
	if !ok {
		return connectedReplicas(ctx, rdb)
	}
	var mu sync.Mutex
	fewest := -1
	err := cluster.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		n, err := connectedReplicas(ctx, m)
		mu.Lock()
		defer mu.Unlock()
		if err == nil && (fewest < 0 || n < fewest) {
			fewest = n
		}
		return err
	})
	return max(fewest, 0), err
}

func connectedReplicas(ctx context.Context, rdb redis.Cmdable) (int, error) {
	info, err := rdb.Info(ctx, "replication").Result()
	if err != nil {
		return 0, fmt.Errorf("redis info replication: %w", err)
	}
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "connected_slaves:"); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				return 0, fmt.Errorf("redis info replication: connected_slaves is %q", v)
			}
			return n, nil
		}
	}
	return 0, nil
}
