package store

import (
	"context"
	"fmt"
)

// muteKey is the set of users who muted a pipeline's direct messages
// (/release mute): one set per pipeline, in its slot, shared by every replica.
func (s *Store) muteKey(pipeline string) string { return s.slot(pipeline) + "muted" }

// Mute stops a user's direct messages about pipeline's releases; changed
// is false when they had already muted it. One SADD: atomic, and safe to
// repeat.
func (s *Store) Mute(ctx context.Context, pipeline, userID string) (changed bool, err error) {
	n, err := s.rdb.SAdd(ctx, s.muteKey(pipeline), userID).Result()
	if err != nil {
		return false, fmt.Errorf("muting %s for %s: %w", pipeline, userID, err)
	}
	return n == 1, nil
}

// Unmute gives a user back their direct messages about pipeline's
// releases; changed is false when they had not muted it.
func (s *Store) Unmute(ctx context.Context, pipeline, userID string) (changed bool, err error) {
	n, err := s.rdb.SRem(ctx, s.muteKey(pipeline), userID).Result()
	if err != nil {
		return false, fmt.Errorf("unmuting %s for %s: %w", pipeline, userID, err)
	}
	return n == 1, nil
}

// Muted are the users who muted pipeline.
func (s *Store) Muted(ctx context.Context, pipeline string) (map[string]bool, error) {
	ids, err := s.rdb.SMembers(ctx, s.muteKey(pipeline)).Result()
	if err != nil {
		return nil, fmt.Errorf("reading who muted %s: %w", pipeline, err)
	}
	out := make(map[string]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}
