package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// The evidence outbox. Its items live in the release's body (written by the
// same script as the change that causes them); these keys only help deliver
// them:
//
//   - <pipeline>:evidence:due, a sorted set of the pipeline's release ids by
//     when their outbox is next due, added to by the scripts that write
//     pending items: it is in the pipeline's slot, so the change and its
//     entry stay one atomic script on Redis Cluster too;
//   - evidence:pipelines, the set of pipelines that have such a set, which
//     DueEvidence reads them through. Create adds the pipeline (SADD, which
//     repeats harmlessly) before its script runs, so a pipeline is listed
//     before any of its releases can be due, and a crash between the two
//     only leaves a pipeline listed with nothing due;
//   - release:<id>:evidence, a hash holding the promotion entries (written at
//     creation), a "tried:<step>" field before each request that may take
//     effect and a "done:<step>" field once Kosli took it, so that a delivery
//     cut short resumes where it stopped, and a step whose answer was lost is
//     looked for in Kosli before it is sent again.

func (s *Store) dueKey(pipeline string) string { return s.slot(pipeline) + "evidence:due" }
func (s *Store) duePipelinesKey() string       { return s.prefix + "evidence:pipelines" }
func (s *Store) evidenceKey(id string) string  { return s.releaseKey(id) + ":evidence" }

// registerDue lists pipeline among those DueEvidence reads.
func (s *Store) registerDue(ctx context.Context, pipeline string) error {
	if err := s.rdb.SAdd(ctx, s.duePipelinesKey(), pipeline).Err(); err != nil {
		return fmt.Errorf("list pipeline %s for evidence: %w", pipeline, err)
	}
	return nil
}

// EvidenceLease names the lease one deliverer holds on a release's outbox.
// It carries the release's hash tag: MarkEvidence checks it in the same
// script as it writes the outbox.
func EvidenceLease(id string) string { return "{" + PipelineOf(id) + "}:evidence:" + id }

// DueEvidence lists up to limit releases whose outbox is due by now, the
// longest due first, over every pipeline's due set.
func (s *Store) DueEvidence(ctx context.Context, now time.Time, limit int) ([]string, error) {
	pipelines, err := s.rdb.SMembers(ctx, s.duePipelinesKey()).Result()
	if err != nil {
		return nil, fmt.Errorf("due evidence: %w", err)
	}
	var due []redis.Z
	for _, p := range pipelines {
		zs, err := s.rdb.ZRangeByScoreWithScores(ctx, s.dueKey(p), &redis.ZRangeBy{
			Min: "-inf", Max: strconv.FormatInt(ms(now), 10), Count: int64(limit),
		}).Result()
		if err != nil {
			return nil, fmt.Errorf("due evidence of %s: %w", p, err)
		}
		due = append(due, zs...)
	}
	slices.SortStableFunc(due, func(a, b redis.Z) int { return cmp.Compare(a.Score, b.Score) })
	ids := make([]string, 0, min(limit, len(due)))
	for _, z := range due[:min(limit, len(due))] {
		ids = append(ids, z.Member.(string))
	}
	return ids, nil
}

// PendingEvidence counts the releases whose outbox has items to deliver.
func (s *Store) PendingEvidence(ctx context.Context) (int64, error) {
	pipelines, err := s.rdb.SMembers(ctx, s.duePipelinesKey()).Result()
	if err != nil {
		return 0, fmt.Errorf("pending evidence: %w", err)
	}
	var n int64
	for _, p := range pipelines {
		c, err := s.rdb.ZCard(ctx, s.dueKey(p)).Result()
		if err != nil {
			return 0, fmt.Errorf("pending evidence of %s: %w", p, err)
		}
		n += c
	}
	return n, nil
}

// ScheduleEvidence makes release id's outbox due at at.
func (s *Store) ScheduleEvidence(ctx context.Context, id string, at time.Time) error {
	return s.rdb.ZAdd(ctx, s.dueKey(PipelineOf(id)), redis.Z{Score: float64(ms(at)), Member: id}).Err()
}

// EvidenceDelivered takes release id off the due set, unless new items made
// it due again after version (the release version the deliverer read): the
// check and the removal are one script.
func (s *Store) EvidenceDelivered(ctx context.Context, id string, version int64) error {
	return evidenceDeliveredScript.Run(ctx, s.rdb, []string{s.dueKey(PipelineOf(id)), s.releaseKey(id)}, id, version).Err()
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
