package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Once reports whether this is the first call with key within ttl, with one
// SET NX PX: the dedup for Slack's redeliveries and people's double clicks.
func (s *Store) Once(ctx context.Context, key string, ttl time.Duration) (first bool, err error) {
	if ttl < time.Millisecond {
		return false, errors.New("once: ttl must be at least a millisecond")
	}
	first, err = s.rdb.SetNX(ctx, s.prefix+"once:"+key, "1", ttl).Result()
	if err != nil {
		return false, fmt.Errorf("once %s: %w", key, err)
	}
	return first, nil
}

// claimScript takes key for owner unless someone else holds it. Taking a
// key one already holds answers yes again, so that a caller whose first
// attempt ended in an error (the SET may or may not have landed) can ask
// again and learn the truth. KEYS: the key. ARGV: owner, ttl in ms.
var claimScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then return 1 end
if v then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`)

// Claim is Once for a named owner: true when owner holds key, having just
// taken it or having taken it before. Unlike Once, an error can be retried:
// a retry tells whether the first attempt's write landed.
func (s *Store) Claim(ctx context.Context, key, owner string, ttl time.Duration) (bool, error) {
	if owner == "" || ttl < time.Millisecond {
		return false, errors.New("claim: an owner and a ttl of at least a millisecond are required")
	}
	n, err := claimScript.Run(ctx, s.rdb, []string{s.prefix + "once:" + key}, owner, ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("claim %s: %w", key, err)
	}
	return n == 1, nil
}

func (s *Store) leaseKey(name string) string { return s.prefix + "lease:" + name }

// AcquireLease makes owner the holder of lease name for ttl, if nobody else
// holds it. An owner acquiring a lease it already holds extends it. The
// lease lapses by itself after ttl, so a replica that dies gives it up.
func (s *Store) AcquireLease(ctx context.Context, name, owner string, ttl time.Duration) (bool, error) {
	return s.lease(ctx, acquireLeaseScript, "acquire", name, owner, ttl)
}

// RenewLease extends owner's lease name to ttl from now; false when owner
// no longer holds it (it lapsed, or someone else took it since).
func (s *Store) RenewLease(ctx context.Context, name, owner string, ttl time.Duration) (bool, error) {
	return s.lease(ctx, renewLeaseScript, "renew", name, owner, ttl)
}

// ReleaseLease gives up owner's lease name; false when owner did not hold
// it, in which case nothing is touched.
func (s *Store) ReleaseLease(ctx context.Context, name, owner string) (bool, error) {
	return s.lease(ctx, releaseLeaseScript, "release", name, owner, time.Millisecond)
}

func (s *Store) lease(ctx context.Context, script *redis.Script, op, name, owner string, ttl time.Duration) (bool, error) {
	if owner == "" {
		return false, fmt.Errorf("%s lease %s: owner is required", op, name)
	}
	if ttl < time.Millisecond {
		return false, fmt.Errorf("%s lease %s: ttl must be at least a millisecond", op, name)
	}
	n, err := script.Run(ctx, s.rdb, []string{s.leaseKey(name)}, owner, ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("%s lease %s: %w", op, name, err)
	}
	return n == 1, nil
}
