-- Store one checkpoint and move `latest`, atomically.
--
-- KEYS[1]  record          the checkpoint hash
-- KEYS[2]  latest          the namespace's `latest` pointer
-- KEYS[3]  timeline        the namespace's timeline
-- KEYS[4]  namespaces      the session's namespaces set
-- KEYS[5]  writes          the checkpoint's pending-writes hash
-- KEYS[..] new_blobs*      n_new blob keys to write
-- KEYS[..] kept_blobs*     n_kept blob keys this checkpoint reuses
-- KEYS[..] base_blobs*     n_base list-link bases the new values need (_lists.py)
-- ARGV[1]  ttl_ms          expiry in ms, 0 for none
-- ARGV[2]  checkpoint_id   the new checkpoint's id
-- ARGV[3]  checkpoint_ns   its namespace, raw
-- ARGV[4]  parent_id       the parent checkpoint's id, '' for none
-- ARGV[5]  n_fields        field/value pairs in `fields`
-- ARGV[6]  n_new           values in `new_values`
-- ARGV[7]  n_kept          keys in `kept_blobs`
-- ARGV[8]  n_delta         names in `delta_channels`
-- ARGV[9]  n_index         commands in `index_commands`
-- ARGV[10] rec_prefix      + escaped id = a checkpoint hash of the namespace
-- ARGV[11] writes_prefix   + escaped id = a pending-writes hash
-- ARGV[12] blob_prefix     + stored suffix = a blob key
-- ARGV[13] n_base          keys in `base_blobs`
-- ARGV[14] inherit         1: a reused value may be a list link, copy its bases from the parent
-- ARGV[..] fields*         the record's field/value pairs
-- ARGV[..] new_values*     the values of `new_blobs`, in order
-- ARGV[..] delta_channels* escaped DeltaChannels rebuilt from ancestors
-- ARGV[..] index_commands* cross-session index commands, each as (argc, command, args...)
--
-- An LGRS_LEGACY error, writing nothing, when `latest` holds a legacy pickle.
-- Returns {latest id, {index errors}}, or {0, {}} with nothing written when
-- a list-link base is gone (expired or pruned since this saver stored it):
-- the caller then sends full copies. The index commands ride in this script
-- on a standalone server (one command per put instead of a pipeline); in a
-- cluster they live in other slots and the caller pipelines them. They are
-- advisory: an error there (a damaged index key) is returned, not raised,
-- because the checkpoint is stored by then.
--
-- Nothing is written until what the checkpoint builds on is checked: the
-- blobs it reuses must exist, and so must the ancestors its DeltaChannels are
-- rebuilt from (a parent removed by prune() or the cap while the run was in
-- flight would leave `latest` unreadable). The ancestor walk is bounded: it
-- visits each record at most once and fails on a `parent` cycle.
local ttl_ms = tonumber(ARGV[1])
local checkpoint_id = ARGV[2]
local checkpoint_ns = ARGV[3]
local parent_id = ARGV[4]
local n_fields = tonumber(ARGV[5])
local n_new = tonumber(ARGV[6])
local n_kept = tonumber(ARGV[7])
local n_delta = tonumber(ARGV[8])
local n_index = tonumber(ARGV[9])
local rec_prefix = ARGV[10]
local writes_prefix = ARGV[11]
local blob_prefix = ARGV[12]
local n_base = tonumber(ARGV[13])
local inherit = ARGV[14]
local record = KEYS[1]
local latest = KEYS[2]
local timeline = KEYS[3]
local namespaces = KEYS[4]
local writes = KEYS[5]
local fields_at = 14
local values_at = fields_at + 2 * n_fields
local delta_at = values_at + n_new
local index_at = delta_at + n_delta
local kept_at = 5 + n_new
local base_at = kept_at + n_kept

-- 1. Check, without writing.
if is_legacy(redis.call('GET', latest)) then return legacy_error(latest) end
-- Reused values and link bases are adjacent in KEYS: one EXISTS checks both,
-- and only a shortfall looks closer.
if n_kept + n_base > 0 and
    redis.call('EXISTS', unpack(KEYS, kept_at + 1, base_at + n_base)) < n_kept + n_base then
  for i = kept_at + 1, kept_at + n_kept do
    if redis.call('EXISTS', KEYS[i]) == 0 then
      return redis.error_reply('LGRS_CONFLICT checkpoint ' .. checkpoint_id ..
        ' reuses the channel value ' .. KEYS[i] .. ', which is gone: no earlier put ' ..
        'stored it, or the checkpoint this one continues from (' .. parent_id .. ') was ' ..
        'removed (prune(), max_checkpoints_per_session, delete_for_runs, expiry or ' ..
        'eviction) after it was read')
    end
  end
  return {0, {}}  -- a list-link base is gone
end

-- DeltaChannels without a value here are rebuilt from ancestors back to
-- their last snapshot: those ancestors must exist, and their TTL is refreshed
-- with the new checkpoint's. The walk is bounded by the snapshot frequency.
local chain = {}
local chans = {}
for i = 1, n_delta do chans[i] = ARGV[delta_at + i] end
local cur = parent_id
local seen = {[checkpoint_id] = true}
while cur ~= '' and #chans > 0 do
  if seen[cur] then
    return redis.error_reply('LGRS_CORRUPT the parent chain of checkpoint ' .. checkpoint_id ..
      ' loops back to ' .. cur .. ': a parent field was changed outside the saver')
  end
  seen[cur] = true
  local f = redis.call('HMGET', rec_prefix .. esc(cur), 'parent', 'blobs', 'checkpoint')
  if not f[3] then
    return redis.error_reply('LGRS_CONFLICT checkpoint ' .. checkpoint_id ..
      ' rebuilds DeltaChannel values from ancestor ' .. cur .. ', which is gone: it was ' ..
      'removed (prune(), max_checkpoints_per_session, delete_for_runs, expiry or ' ..
      'eviction) after the run read it')
  end
  chain[#chain + 1] = {cur, f[2]}
  local rest = {}
  for j = 1, #chans do
    if not blob_of(f[2], chans[j]) then rest[#rest + 1] = chans[j] end
  end
  chans = rest
  cur = f[1] or ''
end

-- 2. Write. Order matters if a write fails half-way (e.g. OOM): blobs first,
-- then the record, then the timeline and `latest`, so `latest` never names a
-- record that is not complete. A re-put of an id replaces its record.
for i = 1, n_new do
  if ttl_ms > 0 then
    redis.call('SET', KEYS[5 + i], ARGV[values_at + i], 'PX', ttl_ms)
  else
    redis.call('SET', KEYS[5 + i], ARGV[values_at + i])
  end
end
redis.call('DEL', record)
redis.call('HSET', record, unpack(ARGV, fields_at + 1, values_at))
redis.call('ZADD', timeline, 0, checkpoint_id)
redis.call('SADD', namespaces, checkpoint_ns)
-- `latest` is the greatest id (ids sort by time), compared byte-wise by the
-- sorted set, not by Lua's locale-dependent string comparison; unless that
-- one cannot be read (removed by hand, or hidden), then the new one.
local top = redis.call('ZREVRANGEBYLEX', timeline, '+', '-', 'LIMIT', 0, 1)[1]
if top ~= checkpoint_id then
  local f = redis.call('HMGET', rec_prefix .. esc(top), 'checkpoint', 'hidden')
  if not f[1] or f[2] then top = checkpoint_id end
end
if ttl_ms > 0 then
  redis.call('SET', latest, top, 'PX', ttl_ms)
else
  redis.call('SET', latest, top)
end

-- An unchanged channel whose value is a list link needs the same bases as
-- in the parent checkpoint: copy them from the parent's blob list (there a
-- channel's first suffix is its value, the others are the bases it links to).
local bases = {unpack(KEYS, base_at + 1, base_at + n_base)}
if inherit == '1' and n_kept > 0 and parent_id ~= '' then
  local inherited = redis.call('HGET', rec_prefix .. esc(parent_id), 'blobs')
  if inherited then
    local own = redis.call('HGET', record, 'blobs') or ''
    local listed, kept, value_of, extra = {}, {}, {}, {}
    for s in string.gmatch(own, '[^\n]+') do listed[s] = true end
    for i = 1, n_kept do kept[string.sub(KEYS[kept_at + i], #blob_prefix + 1)] = true end
    for s in string.gmatch(inherited, '[^\n]+') do
      local ch = string.match(s, '^[^:]*:')
      if value_of[ch] == nil then
        value_of[ch] = s
      elseif kept[value_of[ch]] and not listed[s] then
        extra[#extra + 1] = s
        listed[s] = true
        bases[#bases + 1] = blob_prefix .. s
      end
    end
    if #extra > 0 then
      if own ~= '' then own = own .. '\n' end
      redis.call('HSET', record, 'blobs', own .. table.concat(extra, '\n'), 'v', '2')
    end
  end
end

if ttl_ms > 0 then
  expire_all(bases, ttl_ms)
  redis.call('PEXPIRE', record, ttl_ms)
  redis.call('PEXPIRE', timeline, ttl_ms)
  redis.call('PEXPIRE', namespaces, ttl_ms)
  redis.call('PEXPIRE', writes, ttl_ms)
  for i = 1, n_kept do
    redis.call('PEXPIRE', KEYS[kept_at + i], ttl_ms)
  end
  for i = 1, #chain do
    redis.call('PEXPIRE', rec_prefix .. esc(chain[i][1]), ttl_ms)
    redis.call('PEXPIRE', writes_prefix .. esc(chain[i][1]), ttl_ms)
    expire_all(blob_keys(blob_prefix, chain[i][2]), ttl_ms)
  end
end

local errors = {}
local pos = index_at
for _ = 1, n_index do
  local argc = tonumber(ARGV[pos + 1])
  local reply = redis.pcall(unpack(ARGV, pos + 2, pos + 1 + argc))
  if type(reply) == 'table' and reply.err then
    errors[#errors + 1] = ARGV[pos + 3] .. ': ' .. reply.err
  end
  pos = pos + 1 + argc
end
return {top, errors}
