-- Store one checkpoint and move `latest`, atomically.
-- KEYS: record, latest, timeline, namespaces, writes, new blob keys..., kept blob keys...,
--       link base keys... (the bases the new list links need; see _lists.py)
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
local n_base = #KEYS - 5 - n_new - n_kept

-- A list link is only valid while its bases exist. One that expired or was
-- pruned since the caller last stored it: write nothing, return 0, and the
-- caller sends full copies instead.
if n_base > 0 and redis.call('EXISTS', unpack(KEYS, 6 + n_new + n_kept)) < n_base then
  return 0
end

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

-- An unchanged channel whose value is a list link needs the same bases as
-- in the parent checkpoint: copy them from the parent's blob list (a
-- channel's first suffix there is its value, the others are its bases).
local bases = {}
for i = 6 + n_new + n_kept, #KEYS do bases[#bases + 1] = KEYS[i] end
local parent_id = redis.call('HGET', rec, 'parent')
if n_kept > 0 and parent_id then
  local inherited = redis.call('HGET', ARGV[7] .. esc(parent_id), 'blobs')
  if inherited then
    local bp = ARGV[9]
    local own = redis.call('HGET', rec, 'blobs') or ''
    local listed, kept, value_of, extra = {}, {}, {}, {}
    for s in string.gmatch(own, '[^\n]+') do listed[s] = true end
    for i = 1, n_kept do kept[string.sub(KEYS[5 + n_new + i], #bp + 1)] = true end
    for s in string.gmatch(inherited, '[^\n]+') do
      local ch = string.match(s, '^[^:]*:')
      if value_of[ch] == nil then
        value_of[ch] = s
      elseif kept[value_of[ch]] and not listed[s] then
        extra[#extra + 1] = s
        listed[s] = true
        bases[#bases + 1] = bp .. s
      end
    end
    if #extra > 0 then
      if own ~= '' then own = own .. '\n' end
      redis.call('HSET', rec, 'blobs', own .. table.concat(extra, '\n'), 'v', '2')
    end
  end
end

if ttl > 0 then
  expire_all(bases, ttl)
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
  local parent = parent_id
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
