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
	first, err = s.rdb.SetNX(ctx, s.onceKey(key), "1", ttl).Result()
	if err != nil {
		return false, fmt.Errorf("once %s: %w", key, err)
	}
	return first, nil
}

// ReplyClaim is what ClaimReply found: whether the caller is to post the
// reply, and whether an earlier claim on it lapsed without a posted mark.
type ReplyClaim int

const (
	// ReplyHeld: another owner holds a live claim on the reply (it is
	// posting it, or died doing so and its claim has not lapsed yet).
	ReplyHeld ReplyClaim = iota
	// ReplyPosted: the reply was marked posted; nothing is to be done.
	ReplyPosted
	// ReplyFirst: the caller holds the claim, and nobody claimed the reply before.
	ReplyFirst
	// ReplyLapsed: the caller holds the claim, and an earlier claim lapsed
	// unmarked: its holder died between claiming and marking, so the reply
	// may be out already and must be looked for before it is posted.
	ReplyLapsed
)

// claimReplyScript takes a reply's short claim for owner, unless the reply
// is marked posted or someone else's claim is live, and counts the claims
// ever taken in the reply's durable record. An owner asking again (its
// answer was lost) holds it still and hears the same count. A key of the
// claims of old releases (Claim, before claims lapsed) counts as posted.
// KEYS: claim, record, old claim. ARGV: owner, claim ttl ms, record ttl ms.
// Returns -1 posted, 0 held by another, n >= 1 the caller's claim, the nth.
var claimReplyScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[3]) == 1 then return -1 end
local rec = redis.call('GET', KEYS[2])
if rec == 'posted' then return -1 end
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then return tonumber(rec) or 1 end
if cur then return 0 end
local n = (tonumber(rec) or 0) + 1
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('SET', KEYS[2], n, 'PX', ARGV[3])
return n
`)

// markPostedScript marks a reply posted for good and drops owner's claim.
// KEYS: claim, record. ARGV: owner, record ttl ms.
var markPostedScript = redis.NewScript(`
redis.call('SET', KEYS[2], 'posted', 'PX', ARGV[2])
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
`)

// replyRecordTTL is how long a reply's posted mark and claim count last:
// longer than any release stays open.
const replyRecordTTL = 30 * 24 * time.Hour

// onceKey is Once's key for key. The hash tag is key itself, so that a
// reply's keys (replyKeys), which its scripts take together, share a slot.
func (s *Store) onceKey(key string) string { return s.prefix + "once:{" + key + "}" }

func (s *Store) replyKeys(key string) []string {
	return []string{s.prefix + "reply:claim:{" + key + "}", s.prefix + "reply:{" + key + "}", s.onceKey(key)}
}

// ClaimReply claims the thread reply named key for owner for ttl, the time
// it has to post it (RenewReply extends it while it waits): a claim whose
// holder died lapses, and another replica may then take the reply over.
// It is one atomic step; an error can be retried, and a retry tells
// whether the first attempt's write landed.
func (s *Store) ClaimReply(ctx context.Context, key, owner string, ttl time.Duration) (ReplyClaim, error) {
	if owner == "" || ttl < time.Millisecond {
		return ReplyHeld, errors.New("claim reply: an owner and a ttl of at least a millisecond are required")
	}
	n, err := claimReplyScript.Run(ctx, s.rdb, s.replyKeys(key), owner, ttl.Milliseconds(), replyRecordTTL.Milliseconds()).Int()
	if err != nil {
		return ReplyHeld, fmt.Errorf("claim reply %s: %w", key, err)
	}
	switch {
	case n < 0:
		return ReplyPosted, nil
	case n == 0:
		return ReplyHeld, nil
	case n == 1:
		return ReplyFirst, nil
	}
	return ReplyLapsed, nil
}

// RenewReply extends owner's claim on the reply key to ttl from now; false
// when owner no longer holds it (it lapsed).
func (s *Store) RenewReply(ctx context.Context, key, owner string, ttl time.Duration) (bool, error) {
	if owner == "" || ttl < time.Millisecond {
		return false, errors.New("renew reply: an owner and a ttl of at least a millisecond are required")
	}
	n, err := renewLeaseScript.Run(ctx, s.rdb, s.replyKeys(key)[:1], owner, ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("renew reply %s: %w", key, err)
	}
	return n == 1, nil
}

// MarkReplyPosted records for good that the reply key is in its thread,
// and gives up owner's claim on it.
func (s *Store) MarkReplyPosted(ctx context.Context, key, owner string) error {
	if _, err := markPostedScript.Run(ctx, s.rdb, s.replyKeys(key)[:2], owner, replyRecordTTL.Milliseconds()).Result(); err != nil {
		return fmt.Errorf("mark reply %s posted: %w", key, err)
	}
	return nil
}

// Attempt is the latest of a bounded series of attempts at something that
// must not be done twice at once, such as dispatching a workflow again.
type Attempt struct {
	// N counts the attempts; 0 when none was recorded.
	N int
	// At is when the latest attempt began.
	At time.Time
	// Retryable says the latest attempt is known to have failed in a way
	// that another may follow (GitHub answered a 5xx and no run appeared).
	Retryable bool
}

// setAttemptScript writes an attempt record if it still holds attempt n (0: none).
// KEYS: record. ARGV: n, the new record, ttl ms. Returns 1 when written.
var setAttemptScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
local n = 0
if cur then n = tonumber(string.match(cur, '^(%d+)')) or 0 end
if n ~= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
`)

func (s *Store) attemptKey(key string) string { return s.prefix + "attempt:" + key }

// LastAttempt reads the attempt record key; N is 0 when there is none.
func (s *Store) LastAttempt(ctx context.Context, key string) (Attempt, error) {
	v, err := s.rdb.Get(ctx, s.attemptKey(key)).Result()
	if errors.Is(err, redis.Nil) {
		return Attempt{}, nil
	}
	if err != nil {
		return Attempt{}, fmt.Errorf("attempt %s: %w", key, err)
	}
	var a Attempt
	var ms int64
	var retryable int
	if _, err := fmt.Sscanf(v, "%d:%d:%d", &a.N, &ms, &retryable); err != nil {
		return Attempt{}, fmt.Errorf("attempt %s: unreadable record %q", key, v)
	}
	a.At, a.Retryable = time.UnixMilli(ms).UTC(), retryable == 1
	return a, nil
}

// SetAttempt writes next as the attempt record key if the record still
// holds attempt n (0: none), in one compare-and-set: of replicas that read
// the same record, one only moves it on. It reports whether it wrote.
func (s *Store) SetAttempt(ctx context.Context, key string, n int, next Attempt, ttl time.Duration) (bool, error) {
	if ttl < time.Millisecond || next.N < 1 {
		return false, errors.New("set attempt: a ttl of at least a millisecond and an attempt number are required")
	}
	retryable := 0
	if next.Retryable {
		retryable = 1
	}
	rec := fmt.Sprintf("%d:%d:%d", next.N, next.At.UnixMilli(), retryable)
	w, err := setAttemptScript.Run(ctx, s.rdb, []string{s.attemptKey(key)}, n, rec, ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("set attempt %s: %w", key, err)
	}
	return w == 1, nil
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
