package store

import "github.com/redis/go-redis/v9"

// The Lua scripts are the store's only writers of release state. Each runs
// atomically in Redis, so a script's checks and its writes cannot be split by
// another replica. They use only commands miniredis implements too (HMGET,
// HSET with several fields, HSETNX, HINCRBY, HLEN, RPUSH, PEXPIRE, ZADD, ZREM),
// so the embedded Redis runs the same code.
//
// Every script over one release takes KEYS = releaseKeys: {release hash,
// approvals, history, manifest, evidence, pipeline lock, pipeline due set},
// all in the pipeline's hash slot (store.go), so that each script runs on
// one Redis Cluster node. createScript also reads and may expire the
// release the lock names, whose keys it derives from the lock's id: that
// release is of the same pipeline, so its keys are in the same slot (Redis
// Cluster runs a script that touches undeclared keys of its own slot).

// luaPrelude holds the helpers shared by the scripts.
//
// finish: a release reached a terminal state: free its pipeline's lock if the
// lock still names it, and start the retention clock on all its keys.
//
// expire: move an open release to expired (the clock ran out) with a history
// entry; the from state and the note are constants, so the JSON is safe to
// build here.
const luaPrelude = `
local function finish(rk, id, lock, ttl)
  if redis.call('GET', lock) == id then redis.call('DEL', lock) end
  redis.call('PEXPIRE', rk, ttl)
  redis.call('PEXPIRE', rk .. ':approvals', ttl)
  redis.call('PEXPIRE', rk .. ':history', ttl)
  redis.call('PEXPIRE', rk .. ':manifest', ttl)
  redis.call('PEXPIRE', rk .. ':evidence', ttl)
end

-- due: the release's evidence outbox has items to deliver now.
local function due(dueKey, id, now)
  redis.call('ZADD', dueKey, now, id)
end

local expiryNotes = {
  proposed = 'it did not get enough approvals in time',
  approved = 'it was not dispatched in time',
}

local function expire(rk, id, lock, from, at, ttl)
  local v = redis.call('HINCRBY', rk, 'version', 1)
  redis.call('HSET', rk, 'state', 'expired')
  redis.call('RPUSH', rk .. ':history',
    '{"from":"' .. from .. '","to":"expired","at":"' .. at .. '","note":"' .. expiryNotes[from] .. '"}')
  finish(rk, id, lock, ttl)
  return v
end

local function expiredBy(state, expiresAt, now)
  local exp = tonumber(expiresAt) or 0
  return (state == 'proposed' or state == 'approved') and exp > 0 and now >= exp
end
`

// createScript writes a new release and takes its pipeline's lock, unless
// the lock names a release that is still open. A lock naming a missing or
// finished release is taken over; one naming a release whose approval window
// has closed expires that release first (as Approve would) and is taken over.
//
// KEYS: releaseKeys, then the pipeline index.
// ARGV: id, the key prefix of the pipeline's releases, now ms, now (RFC
// 3339), retention ms, pipeline, digest, required, expires_at ms, body,
// manifest, first history entry, index score, the promotion entries for the
// evidence (JSON, or ""), "1" when the body's evidence outbox has items to
// deliver.
// Returns {"ok", took} (took: "expired" when it expired the lock's release,
// else ""), {"exists"} or {"active", id, state}.
var createScript = redis.NewScript(luaPrelude + `
local id, releases, now, at, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]
if redis.call('EXISTS', KEYS[1]) == 1 then return {'exists'} end
local took = ''
local cur = redis.call('GET', KEYS[6])
if cur then
  local ck = releases .. cur
  local f = redis.call('HMGET', ck, 'state', 'expires_at_ms')
  local st = f[1]
  if st == 'proposed' or st == 'approved' or st == 'dispatching' or st == 'deploying' then
    if not expiredBy(st, f[2], now) then return {'active', cur, st} end
    expire(ck, cur, KEYS[6], st, at, ttl)
    took = 'expired'
  end
end
redis.call('HSET', KEYS[1], 'state', 'proposed', 'version', 1, 'pipeline', ARGV[6], 'digest', ARGV[7],
  'required', ARGV[8], 'expires_at_ms', ARGV[9], 'body', ARGV[10])
redis.call('SET', KEYS[4], ARGV[11])
redis.call('RPUSH', KEYS[3], ARGV[12])
redis.call('SET', KEYS[6], id)
redis.call('ZADD', KEYS[8], ARGV[13], id)
if ARGV[14] ~= '' then redis.call('HSET', KEYS[5], 'promotions', ARGV[14]) end
if ARGV[15] == '1' then due(KEYS[7], id, now) end
return {'ok', took}
`)

// approveScript counts one person's approval. In order: the release exists;
// it is proposed; its window has not closed (else it expires, atomically, and
// frees its pipeline); the digest is the current one; the person has not
// approved yet (HSETNX); then the version is bumped and, when the count
// reaches required, the release becomes approved with a history entry.
//
// KEYS: releaseKeys.
// ARGV: id, now ms, now (RFC 3339), retention ms, user id, approval JSON,
// digest, history entry for the approval transition.
// Returns {outcome, state, count, required, version}.
var approveScript = redis.NewScript(luaPrelude + `
local id, now, at, ttl = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local f = redis.call('HMGET', KEYS[1], 'state', 'version', 'digest', 'required', 'expires_at_ms')
local state = f[1]
if not state then return {'not_found', '', 0, 0, 0} end
local version, required = tonumber(f[2]) or 0, tonumber(f[4]) or 0
local count = redis.call('HLEN', KEYS[2])
if state ~= 'proposed' then return {'wrong_state', state, count, required, version} end
if expiredBy(state, f[5], now) then
  version = expire(KEYS[1], id, KEYS[6], state, at, ttl)
  return {'expired', 'expired', count, required, version}
end
if f[3] ~= ARGV[7] then return {'wrong_digest', state, count, required, version} end
if redis.call('HSETNX', KEYS[2], ARGV[5], ARGV[6]) == 0 then
  return {'duplicate', state, count, required, version}
end
count = count + 1
version = redis.call('HINCRBY', KEYS[1], 'version', 1)
if count >= required then
  redis.call('HSET', KEYS[1], 'state', 'approved')
  redis.call('RPUSH', KEYS[3], ARGV[8])
  return {'approved', 'approved', count, required, version}
end
return {'counted', state, count, required, version}
`)

// transitionScript is the compare-and-set behind Transition and Amend: if the
// release is still in the state and at the version the caller read, write the
// new body and state, bump the version, append the history entry (if any),
// and on a terminal state finish the release.
//
// KEYS: releaseKeys.
// ARGV: id, retention ms, expected state, expected version, new state, body,
// history entry or "", "1" when the new state is terminal, "1" when the
// body's evidence outbox has items to deliver, now ms.
// Returns {"ok", version}, {"not_found"} or {"conflict", state, version}.
var transitionScript = redis.NewScript(luaPrelude + `
local f = redis.call('HMGET', KEYS[1], 'state', 'version')
if not f[1] then return {'not_found'} end
if f[1] ~= ARGV[3] or f[2] ~= ARGV[4] then return {'conflict', f[1], tonumber(f[2]) or 0} end
local v = redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('HSET', KEYS[1], 'state', ARGV[5], 'body', ARGV[6])
if ARGV[7] ~= '' then redis.call('RPUSH', KEYS[3], ARGV[7]) end
if ARGV[8] == '1' then finish(KEYS[1], ARGV[1], KEYS[6], ARGV[2]) end
if ARGV[9] == '1' then due(KEYS[7], ARGV[1], ARGV[10]) end
return {'ok', v}
`)

// pruneScript drops index entries whose release has outlived its retention.
// KEYS: pipeline index. ARGV: the key prefix of the pipeline's releases, ids
// (their keys share the index's slot). Returns how many were dropped.
var pruneScript = redis.NewScript(`
local n = 0
for i = 2, #ARGV do
  if redis.call('EXISTS', ARGV[1] .. ARGV[i]) == 0 then
    n = n + redis.call('ZREM', KEYS[1], ARGV[i])
  end
end
return n
`)

// Lease scripts compare the owner before touching the key, so that nobody
// renews or releases a lease that has passed to someone else.
// KEYS: lease. ARGV: owner, ttl ms. Return 1 on success, 0 otherwise.
var (
	acquireLeaseScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if cur then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`)
	renewLeaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`)
	releaseLeaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
`)
)
