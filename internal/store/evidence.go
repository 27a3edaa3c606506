package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// The evidence outbox. Its items live in the release's body (written by the
// same script as the change that causes them); these keys only help deliver
// them:
//
//   - evidence:due, a sorted set of release ids by when their outbox is next
//     due, added to by the scripts that write pending items;
//   - release:<id>:evidence, a hash holding the promotion entries (written at
//     creation), a "tried:<step>" field before each request that may take
//     effect and a "done:<step>" field once Kosli took it, so that a delivery
//     cut short resumes where it stopped, and a step whose answer was lost is
//     looked for in Kosli before it is sent again.

func (s *Store) dueKey() string               { return s.prefix + "evidence:due" }
func (s *Store) evidenceKey(id string) string { return s.releaseKey(id) + ":evidence" }

// EvidenceLease names the lease one deliverer holds on a release's outbox.
func EvidenceLease(id string) string { return "evidence:" + id }

// DueEvidence lists up to limit releases whose outbox is due by now, the
// longest due first.
func (s *Store) DueEvidence(ctx context.Context, now time.Time, limit int) ([]string, error) {
	ids, err := s.rdb.ZRangeByScore(ctx, s.dueKey(), &redis.ZRangeBy{
		Min: "-inf", Max: strconv.FormatInt(ms(now), 10), Count: int64(limit),
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("due evidence: %w", err)
	}
	return ids, nil
}

// PendingEvidence counts the releases whose outbox has items to deliver.
func (s *Store) PendingEvidence(ctx context.Context) (int64, error) {
	return s.rdb.ZCard(ctx, s.dueKey()).Result()
}

// ScheduleEvidence makes release id's outbox due at at.
func (s *Store) ScheduleEvidence(ctx context.Context, id string, at time.Time) error {
	return s.rdb.ZAdd(ctx, s.dueKey(), redis.Z{Score: float64(ms(at)), Member: id}).Err()
}

// EvidenceDelivered takes release id off the due set, unless new items made
// it due again after version (the release version the deliverer read): the
// check and the removal are one script.
func (s *Store) EvidenceDelivered(ctx context.Context, id string, version int64) error {
	return evidenceDeliveredScript.Run(ctx, s.rdb, []string{s.dueKey(), s.releaseKey(id)}, id, version).Err()
}

// evidenceDeliveredScript: KEYS due set, release hash. ARGV id, version.
var evidenceDeliveredScript = redis.NewScript(`
local v = redis.call('HGET', KEYS[2], 'version')
if v and tonumber(v) > tonumber(ARGV[2]) then return 0 end
return redis.call('ZREM', KEYS[1], ARGV[1])
`)

// EvidencePromotions returns the promotion entries stored with release id
// (service → JSON object); empty when it has none.
func (s *Store) EvidencePromotions(ctx context.Context, id string) (map[string]json.RawMessage, error) {
	raw, err := s.rdb.HGet(ctx, s.evidenceKey(id), "promotions").Bytes()
	if err == redis.Nil {
		return map[string]json.RawMessage{}, nil
	} else if err != nil {
		return nil, fmt.Errorf("release %s promotions: %w", id, err)
	}
	out := map[string]json.RawMessage{}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("release %s promotions: %w", id, err)
	}
	return out, nil
}

// EvidenceMarks returns the marks of release id's outbox ("tried:<step>",
// "done:<step>").
func (s *Store) EvidenceMarks(ctx context.Context, id string) (map[string]bool, error) {
	fields, err := s.rdb.HKeys(ctx, s.evidenceKey(id)).Result()
	if err != nil {
		return nil, fmt.Errorf("release %s evidence marks: %w", id, err)
	}
	marks := map[string]bool{}
	for _, f := range fields {
		if f != "promotions" {
			marks[f] = true
		}
	}
	return marks, nil
}

// MarkEvidence sets mark (e.g. "done:<step>") on release id's outbox, if
// owner still holds the outbox's lease; false when it does not (another
// deliverer took over, and this one must stop).
func (s *Store) MarkEvidence(ctx context.Context, id, mark, owner string) (bool, error) {
	n, err := markStepScript.Run(ctx, s.rdb, []string{s.leaseKey(EvidenceLease(id)), s.evidenceKey(id)},
		owner, mark).Int()
	if err != nil {
		return false, fmt.Errorf("release %s evidence mark %s: %w", id, mark, err)
	}
	return n == 1, nil
}

// markStepScript: KEYS lease, evidence hash. ARGV owner, field. The hash
// gets its retention when the release ends (finish), like the release's
// other keys; a field set after that keeps the hash's expiry.
var markStepScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], '1')
return 1
`)
