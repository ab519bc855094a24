-- Store one checkpoint and move `latest`, atomically.
-- KEYS: record, latest, timeline, namespaces, writes, new blob keys..., kept blob keys...
-- ARGV: ttl_ms, checkpoint_id, checkpoint_ns, n_new, n_kept, n_ancestors,
--       rec_prefix, writes_prefix, blob_prefix, n_fields,
--       field/value pairs..., new blob values...
local ttl = tonumber(ARGV[1])
local cid = ARGV[2]
local n_new = tonumber(ARGV[4])
local n_kept = tonumber(ARGV[5])
local n_anc = tonumber(ARGV[6])
local n_fields = tonumber(ARGV[10])
local rec, latest, timeline, namespaces, wk = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]

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
  -- Delta channels are rebuilt from ancestors back to their last snapshot:
  -- keep that bounded stretch of the chain alive as well.
  local parent = redis.call('HGET', rec, 'parent')
  local i = 0
  while parent and i < n_anc do
    local pk = ARGV[7] .. esc(parent)
    if redis.call('PEXPIRE', pk, ttl) == 0 then break end
    redis.call('PEXPIRE', ARGV[8] .. esc(parent), ttl)
    local f = redis.call('HMGET', pk, 'parent', 'blobs')
    expire_all(blob_keys(ARGV[9], f[2]), ttl)
    parent = f[1]
    i = i + 1
  end
end
return top
