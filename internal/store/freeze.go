package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/release-bot/release-bot/internal/release"
)

// freezeKey holds a pipeline's ad hoc freeze (/release freeze), as JSON:
// one per pipeline, so that every replica sees it.
func (s *Store) freezeKey(pipeline string) string {
	return s.slot(pipeline) + "freeze"
}

// freezeKeep is how long an ad hoc freeze's key outlives its end. Whether
// a freeze holds is decided by its Until and the clock, never by the key's
// expiry; this only clears old keys away.
const freezeKeep = 24 * time.Hour

// setFreezeScript replaces a pipeline's ad hoc freeze and returns the one
// it replaced. KEYS: freeze. ARGV: JSON, ttl ms.
var setFreezeScript = redis.NewScript(`
local old = redis.call('GET', KEYS[1])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {old}
`)

// unfreezeScript removes a pipeline's ad hoc freeze and returns it. KEYS: freeze.
var unfreezeScript = redis.NewScript(`
local old = redis.call('GET', KEYS[1])
if old then redis.call('DEL', KEYS[1]) end
return {old}
`)

// SetFreeze freezes a pipeline by hand until w.Until, replacing its ad hoc
// freeze if it has one, in one atomic step that is durable like a decision;
// it returns the freeze replaced, if one still held.
func (s *Store) SetFreeze(ctx context.Context, pipeline string, w release.FreezeWindow) (*release.FreezeWindow, error) {
	body, err := json.Marshal(w)
	if err != nil {
		return nil, err
	}
	ttl := max(w.Until.Sub(s.now()), 0) + freezeKeep
	res, err := s.eval(ctx, setFreezeScript, true, pipeline, []string{s.freezeKey(pipeline)}, body, ttl.Milliseconds())
	if err != nil && res == nil {
		return nil, fmt.Errorf("freezing %s: %w", pipeline, err)
	}
	old, derr := s.liveFreeze(res)
	return old, errors.Join(err, derr)
}

// Unfreeze removes a pipeline's ad hoc freeze in one atomic step; it
// returns the freeze removed, nil when none held (then nothing changed that
// anyone could see).
func (s *Store) Unfreeze(ctx context.Context, pipeline string) (*release.FreezeWindow, error) {
	res, err := s.eval(ctx, unfreezeScript, true, pipeline, []string{s.freezeKey(pipeline)})
	if err != nil && res == nil {
		return nil, fmt.Errorf("unfreezing %s: %w", pipeline, err)
	}
	old, derr := s.liveFreeze(res)
	return old, errors.Join(err, derr)
}

// AdHocFreeze is the pipeline's ad hoc freeze, nil when it has none that
// holds now or later.
func (s *Store) AdHocFreeze(ctx context.Context, pipeline string) (*release.FreezeWindow, error) {
	v, err := s.rdb.Get(ctx, s.freezeKey(pipeline)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the freeze of %s: %w", pipeline, err)
	}
	return s.liveFreeze([]any{v})
}

// liveFreeze decodes a script's answer: the freeze in its first element,
// nil when there is none or it has ended by the store's clock.
func (s *Store) liveFreeze(res []any) (*release.FreezeWindow, error) {
	if len(res) == 0 || res[0] == nil {
		return nil, nil
	}
	text, ok := res[0].(string)
	if !ok {
		return nil, fmt.Errorf("freeze: unexpected %T", res[0])
	}
	var w release.FreezeWindow
	if err := json.Unmarshal([]byte(text), &w); err != nil {
		return nil, fmt.Errorf("freeze: %w", err)
	}
	if !w.Until.After(s.now()) {
		return nil, nil
	}
	return &w, nil
}
