package store

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/release-bot/release-bot/internal/release"
)

// Create stores a new release with its manifest and makes it its pipeline's
// active release, in one script. If the pipeline already has an open release,
// it returns an *ActiveReleaseError naming it and writes nothing; this holds
// across any number of replicas. Create sets r's State (proposed), Version
// (1), CreatedAt (when zero) and History (the proposal).
//
// promotions, when not nil, are the artifacts' promotion entries (service →
// JSON object) that the evidence outbox records in Kosli; they are kept with
// the release, and read back with EvidencePromotions.
func (s *Store) Create(ctx context.Context, r *release.Release, manifest []byte, promotions map[string]json.RawMessage) error {
	switch {
	case r.ID == "" || r.Pipeline == "":
		return errors.New("create release: id and pipeline are required")
	case r.Required < 1 && (r.BreakGlass == nil || r.Required < 0):
		// Only a break-glass release may need none: it is approved at once.
		return fmt.Errorf("create release %s: required approvals must be at least 1, not %d", r.ID, r.Required)
	case r.ManifestDigest == "":
		return fmt.Errorf("create release %s: manifest digest is required", r.ID)
	case len(r.Approvals) > 0:
		return fmt.Errorf("create release %s: a new release has no approvals", r.ID)
	}
	now := s.now()
	if r.CreatedAt.IsZero() {
		r.CreatedAt = now
	}
	r.State, r.Version = release.Proposed, 1
	r.History = []release.Transition{{To: release.Proposed, At: r.CreatedAt, By: r.Proposer}}
	body, err := encodeBody(r)
	if err != nil {
		return fmt.Errorf("create release %s: %w", r.ID, err)
	}
	entry, err := json.Marshal(r.History[0])
	if err != nil {
		return fmt.Errorf("create release %s: %w", r.ID, err)
	}
	var proms []byte
	if promotions != nil {
		if proms, err = json.Marshal(promotions); err != nil {
			return fmt.Errorf("create release %s: %w", r.ID, err)
		}
	}
	if PipelineOf(r.ID) != r.Pipeline {
		// The id must name the pipeline: it says which hash slot holds the release.
		return fmt.Errorf("create release %s: the id does not name pipeline %s, as NextID's do", r.ID, r.Pipeline)
	}
	if err := s.registerDue(ctx, r.Pipeline); err != nil {
		return fmt.Errorf("create release %s: %w", r.ID, err)
	}
	keys := append(s.releaseKeys(r.ID), s.indexKey(r.Pipeline))
	res, err := createScript.Run(ctx, s.rdb, keys,
		r.ID, s.releasesPrefix(r.Pipeline), ms(now), now.Format(time.RFC3339Nano), s.retention.Milliseconds(),
		r.Pipeline, r.ManifestDigest, r.Required, ms(r.ExpiresAt), body, manifest, entry, ms(r.CreatedAt),
		proms, flag(r.Evidence.Pending()),
	).StringSlice()
	if err != nil {
		return fmt.Errorf("create release %s: %w", r.ID, err)
	}
	switch res[0] {
	case "ok":
		if len(res) > 1 && res[1] == string(release.Expired) {
			s.entered(release.Expired) // the lock's release, whose window had closed
		}
		s.entered(release.Proposed)
		return nil
	case "exists":
		return fmt.Errorf("create release %s: %w", r.ID, ErrExists)
	case "active":
		return &ActiveReleaseError{Pipeline: r.Pipeline, ID: res[1], State: release.State(res[2])}
	}
	return fmt.Errorf("create release %s: unexpected script reply %q", r.ID, res)
}

// encodeBody writes what the hash's body field holds: the release without
// what the store keeps elsewhere (state and version in hash fields, approvals
// and history in their own keys), so that the body cannot go stale on them.
func encodeBody(r *release.Release) ([]byte, error) {
	b := *r
	b.State, b.Version, b.Approvals, b.History = "", 0, nil, nil
	return json.Marshal(&b)
}

// Get returns a release with its approvals (in the order they were given) and
// its history, read in one MULTI so that they agree with each other.
func (s *Store) Get(ctx context.Context, id string) (*release.Release, error) {
	rs, err := s.getMany(ctx, []string{id})
	if err != nil {
		return nil, err
	}
	if rs[0] == nil {
		return nil, fmt.Errorf("release %s: %w", id, ErrNotFound)
	}
	return rs[0], nil
}

type releaseCmds struct {
	hash      *redis.SliceCmd
	approvals *redis.StringSliceCmd
	history   *redis.StringSliceCmd
}

// getMany reads releases in one round trip, in one MULTI so that each
// release's hash, approvals and history agree: the ids must all be of one
// pipeline (one hash slot). A missing release is nil.
func (s *Store) getMany(ctx context.Context, ids []string) ([]*release.Release, error) {
	return s.readMany(ctx, ids, s.rdb.TxPipelined)
}

// readMany reads releases through one pipeline of run's kind (a MULTI, or
// a plain pipeline that may span hash slots); a missing release is nil.
func (s *Store) readMany(ctx context.Context, ids []string, run func(context.Context, func(redis.Pipeliner) error) ([]redis.Cmder, error)) ([]*release.Release, error) {
	cmds := make([]releaseCmds, len(ids))
	if _, err := run(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			k := s.releaseKeys(id)
			cmds[i] = releaseCmds{
				hash:      p.HMGet(ctx, k[0], "state", "version", "body"),
				approvals: p.HVals(ctx, k[1]),
				history:   p.LRange(ctx, k[2], 0, -1),
			}
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read releases: %w", err)
	}
	out := make([]*release.Release, len(ids))
	for i, c := range cmds {
		r, err := decodeRelease(c)
		if err != nil {
			return nil, fmt.Errorf("release %s: %w", ids[i], err)
		}
		out[i] = r
	}
	return out, nil
}

func decodeRelease(c releaseCmds) (*release.Release, error) {
	f := c.hash.Val()
	state, _ := f[0].(string)
	version, _ := f[1].(string)
	body, _ := f[2].(string)
	if state == "" {
		return nil, nil
	}
	var r release.Release
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		return nil, fmt.Errorf("decode body: %w", err)
	}
	r.State = release.State(state)
	v, err := strconv.ParseInt(version, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("decode version %q: %w", version, err)
	}
	r.Version = v
	for _, a := range c.approvals.Val() {
		var ap release.Approval
		if err := json.Unmarshal([]byte(a), &ap); err != nil {
			return nil, fmt.Errorf("decode approval: %w", err)
		}
		r.Approvals = append(r.Approvals, ap)
	}
	slices.SortFunc(r.Approvals, func(a, b release.Approval) int {
		return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.UserID, b.UserID))
	})
	for _, h := range c.history.Val() {
		var t release.Transition
		if err := json.Unmarshal([]byte(h), &t); err != nil {
			return nil, fmt.Errorf("decode history: %w", err)
		}
		r.History = append(r.History, t)
	}
	return &r, nil
}

// Manifest returns the manifest bytes stored with the release.
func (s *Store) Manifest(ctx context.Context, id string) ([]byte, error) {
	b, err := s.rdb.Get(ctx, s.releaseKeys(id)[3]).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("manifest of release %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("manifest of release %s: %w", id, err)
	}
	return b, nil
}

// Active returns the pipeline's open release, or nil when it has none. An
// open release past its ExpiresAt is still returned (until something expires
// it); check Expired.
func (s *Store) Active(ctx context.Context, pipeline string) (*release.Release, error) {
	id, err := s.rdb.Get(ctx, s.activeKey(pipeline)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("active release of %s: %w", pipeline, err)
	}
	r, err := s.Get(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !r.State.Open() {
		return nil, nil
	}
	return r, nil
}

// List returns up to limit of the pipeline's releases, newest first,
// including finished ones still within retention.
func (s *Store) List(ctx context.Context, pipeline string, limit int) ([]*release.Release, error) {
	if limit <= 0 {
		return nil, nil
	}
	idx := s.indexKey(pipeline)
	var out []*release.Release
	for start := int64(0); len(out) < limit; {
		want := int64(limit - len(out))
		ids, err := s.rdb.ZRevRange(ctx, idx, start, start+want-1).Result()
		if err != nil {
			return nil, fmt.Errorf("list releases of %s: %w", pipeline, err)
		}
		if len(ids) == 0 {
			break
		}
		rs, err := s.getMany(ctx, ids)
		if err != nil {
			return nil, err
		}
		var gone []any
		for i, r := range rs {
			if r == nil {
				gone = append(gone, ids[i])
				continue
			}
			out = append(out, r)
		}
		start += int64(len(ids))
		if len(gone) > 0 {
			// Releases past retention leave their index entry behind; drop
			// those, which is safe to race since ids are never reused.
			n, err := pruneScript.Run(ctx, s.rdb, []string{idx}, append([]any{s.releasesPrefix(pipeline)}, gone...)...).Int64()
			if err != nil {
				return nil, fmt.Errorf("list releases of %s: prune: %w", pipeline, err)
			}
			start -= n
		}
	}
	return out, nil
}
