-- Store one checkpoint and move `latest`, atomically.
-- KEYS: record, latest, timeline, namespaces, writes, new blob keys..., kept blob keys...
-- ARGV: ttl_ms, checkpoint_id, checkpoint_ns, n_new, n_kept, n_delta,
--       rec_prefix, writes_prefix, blob_prefix, n_fields,
--       field/value pairs..., new blob values..., escaped delta channel names...,
--       n_index, then n_index commands as (argc, command, args...)
-- The trailing commands update the cross-session indexes. They ride in this
-- script on a standalone server (one command per put instead of a pipeline);
-- in a cluster they live in other slots and the caller pipelines them.
local ttl = tonumber(ARGV[1])
local cid = ARGV[2]
local n_new = tonumber(ARGV[4])
local n_kept = tonumber(ARGV[5])
local n_delta = tonumber(ARGV[6])
local n_fields = tonumber(ARGV[10])
local rec, latest, timeline, namespaces, wk = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
-- A legacy pickled session sits where `latest` goes: refuse before writing anything.
if is_legacy(redis.call('GET', latest)) then return -1 end

local vbase = 10 + 2 * n_fields
for i = 1, n_new do
  if ttl > 0 then
    redis.call('SET', KEYS[5 + i], ARGV[vbase + i], 'PX', ttl)
  else
    redis.call('SET', KEYS[5 + i], ARGV[vbase + i])
  end
end

-- Order matters if a write fails half-way (e.g. OOM): blobs first, then the
-- record, then the timeline and `latest`, so `latest` never names a record
-- that is not complete. A re-put of an id replaces its record.
redis.call('DEL', rec)
redis.call('HSET', rec, unpack(ARGV, 11, 10 + 2 * n_fields))
redis.call('ZADD', timeline, 0, cid)
redis.call('SADD', namespaces, ARGV[3])
-- `latest` is the greatest id (ids sort by time); compared byte-wise by the
-- sorted set, not by Lua's locale-dependent string comparison.
local top = redis.call('ZREVRANGEBYLEX', timeline, '+', '-', 'LIMIT', 0, 1)[1]
redis.call('SET', latest, top)

if ttl > 0 then
  redis.call('PEXPIRE', rec, ttl)
  redis.call('PEXPIRE', latest, ttl)
  redis.call('PEXPIRE', timeline, ttl)
  redis.call('PEXPIRE', namespaces, ttl)
  redis.call('PEXPIRE', wk, ttl)
  for i = 1, n_kept do
    redis.call('PEXPIRE', KEYS[5 + n_new + i], ttl)
  end
  -- A DeltaChannel without a value here is rebuilt from ancestors back to
  -- its last snapshot: keep that stretch of the chain alive too. The walk is
  -- bounded by the snapshot frequency, not by the session's length.
  local chans = {}
  for i = 1, n_delta do chans[i] = ARGV[vbase + n_new + i] end
  local parent = redis.call('HGET', rec, 'parent')
  while parent and #chans > 0 do
    local pk = ARGV[7] .. esc(parent)
    if redis.call('PEXPIRE', pk, ttl) == 0 then break end
    redis.call('PEXPIRE', ARGV[8] .. esc(parent), ttl)
    local f = redis.call('HMGET', pk, 'parent', 'blobs')
    expire_all(blob_keys(ARGV[9], f[2]), ttl)
    local rest = {}
    for j = 1, #chans do
      if not blob_of(f[2], chans[j]) then rest[#rest + 1] = chans[j] end
    end
    chans = rest
    parent = f[1]
  end
end

local pos = vbase + n_new + n_delta + 1
for _ = 1, tonumber(ARGV[pos] or '0') do
  local argc = tonumber(ARGV[pos + 1])
  redis.call(unpack(ARGV, pos + 2, pos + 1 + argc))
  pos = pos + 1 + argc
end
return top
