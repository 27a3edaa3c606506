package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/release-bot/release-bot/internal/release"
)

// Recent returns, for each of pipelines, up to limit of its releases,
// newest first (as List, without its pruning), in two round trips however
// many pipelines there are: one pipeline of ZREVRANGEs over the pipelines'
// indexes, then one of the releases' reads. Neither is a MULTI, since the
// pipelines' keys are in different hash slots (a Redis Cluster client
// splits a plain pipeline by node, and refuses a MULTI across slots); a
// release's three reads may then straddle a write to it, which a display
// can bear: a decision is checked again when it is made. A pipeline with
// no release is absent from the map; an index entry whose release is past
// retention is skipped.
func (s *Store) Recent(ctx context.Context, pipelines []string, limit int) (map[string][]*release.Release, error) {
	out := map[string][]*release.Release{}
	if limit <= 0 || len(pipelines) == 0 {
		return out, nil
	}
	idx := make([]*redis.StringSliceCmd, len(pipelines))
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, name := range pipelines {
			idx[i] = p.ZRevRange(ctx, s.indexKey(name), 0, int64(limit-1))
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("recent releases: %w", err)
	}
	var ids []string
	for _, c := range idx {
		ids = append(ids, c.Val()...)
	}
	if len(ids) == 0 {
		return out, nil
	}
	rs, err := s.readMany(ctx, ids, s.rdb.Pipelined)
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		if r != nil {
			out[r.Pipeline] = append(out[r.Pipeline], r)
		}
	}
	return out, nil
}

// homeKey is the sorted set of the users who opened the app's Home tab,
// scored by when they last did (ms): the Home is republished for them when
// a release they can act on changes. One key, in a slot of its own.
func (s *Store) homeKey() string { return s.prefix + "home:viewers" }

// HomeOpened records that userID opened the Home tab at, and forgets those
// who have not opened it since at minus keep, so that the set stays as
// small as the people who use it. One MULTI on one key.
func (s *Store) HomeOpened(ctx context.Context, userID string, at time.Time, keep time.Duration) error {
	key := s.homeKey()
	if _, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZAdd(ctx, key, redis.Z{Score: float64(at.UnixMilli()), Member: userID})
		p.ZRemRangeByScore(ctx, key, "-inf", "("+strconv.FormatInt(at.Add(-keep).UnixMilli(), 10))
		return nil
	}); err != nil {
		return fmt.Errorf("recording that %s opened the Home tab: %w", userID, err)
	}
	return nil
}

// HomeViewers are up to limit of the users who opened the Home tab at or
// after since, the most recent first.
func (s *Store) HomeViewers(ctx context.Context, since time.Time, limit int) ([]string, error) {
	if limit <= 0 {
		return nil, nil
	}
	ids, err := s.rdb.ZRevRangeByScore(ctx, s.homeKey(), &redis.ZRangeBy{
		Min: strconv.FormatInt(since.UnixMilli(), 10), Max: "+inf", Count: int64(limit),
	}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading who opened the Home tab: %w", err)
	}
	return ids, nil
}

// Manifests returns the stored manifests of releases, by id, in one plain
// pipeline (the ids may be of many pipelines); a release without one is
// absent.
func (s *Store) Manifests(ctx context.Context, ids []string) (map[string][]byte, error) {
	out := map[string][]byte{}
	if len(ids) == 0 {
		return out, nil
	}
	cmds := make([]*redis.StringCmd, len(ids))
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.Get(ctx, s.releaseKeys(id)[3])
		}
		return nil
	}); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("reading manifests: %w", err)
	}
	for i, c := range cmds {
		if b, err := c.Bytes(); err == nil {
			out[ids[i]] = b
		}
	}
	return out, nil
}
