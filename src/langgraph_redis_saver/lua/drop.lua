-- Remove checkpoints of one namespace without breaking DeltaChannel history.
--
-- KEYS[1]  timeline        the namespace's timeline
-- KEYS[2]  latest          the namespace's `latest` pointer
-- KEYS[3]  namespaces      the session's namespaces set
-- ARGV[1]  rec_prefix      + escaped id = a checkpoint hash of the namespace
-- ARGV[2]  writes_prefix   + escaped id = a pending-writes hash
-- ARGV[3]  blob_prefix     + stored suffix = a blob key
-- ARGV[4]  mode            'keep_latest', 'cap' or 'ids' (below)
-- ARGV[5]  count           for 'cap': how many checkpoints to keep
-- ARGV[6]  checkpoint_ns   the namespace, raw
-- ARGV[..] ids*            for 'ids': the checkpoint ids to remove
--   mode 'keep_latest': keep only the newest checkpoint
--   mode 'cap':         keep the newest `count` checkpoints (runs only once the
--                       namespace holds a quarter more, so the cost is amortized)
--   mode 'ids':         remove the given ids
-- A removed checkpoint that a kept one still needs (an ancestor between it and
-- its DeltaChannel snapshot) is hidden instead: gone from listings, kept for
-- the history walk. Hidden checkpoints are reconsidered on every call.
-- Returns {number deleted, {run_id, id, ...}, emptied}: the runs of the deleted
-- checkpoints, whose index sets the caller updates (they live in other slots),
-- and 1 when no visible checkpoint is left in the namespace.
-- Everything is read and checked before the first write; every ancestor walk
-- visits a record at most once and fails on a `parent` cycle.
local rec_prefix = ARGV[1]
local writes_prefix = ARGV[2]
local blob_prefix = ARGV[3]
local mode = ARGV[4]
local count = tonumber(ARGV[5])
local checkpoint_ns = ARGV[6]
local timeline = KEYS[1]
local latest = KEYS[2]
local namespaces = KEYS[3]

if mode == 'cap' then
  local size = redis.call('ZCARD', timeline)
  if size <= count + math.max(1, math.floor(count / 4)) then return {0, {}, 0} end
end

local ids = redis.call('ZRANGE', timeline, 0, -1)
local info, live, hidden, stale = {}, {}, {}, {}
for i = 1, #ids do
  local f = redis.call('HMGET', rec_prefix .. esc(ids[i]), 'parent', 'blobs', 'metadata',
    'hidden', 'run')
  if f[3] then
    info[ids[i]] = f
    if f[4] then hidden[#hidden + 1] = ids[i] else live[#live + 1] = ids[i] end
  else
    stale[#stale + 1] = ids[i]
  end
end

local drop = {}
if mode == 'keep_latest' then
  for i = 1, #live - 1 do drop[live[i]] = true end
elseif mode == 'cap' then
  for i = 1, #live - count do drop[live[i]] = true end
else
  for i = 7, #ARGV do
    if info[ARGV[i]] then drop[ARGV[i]] = true end
  end
end

-- Ancestors the surviving checkpoints need to rebuild their delta channels.
local needed = {}
for i = 1, #live do
  local s = live[i]
  if not drop[s] then
    local ok, md = pcall(cjson.decode, info[s][3])
    local counters = ok and type(md) == 'table' and md['counters_since_delta_snapshot']
    if type(counters) == 'table' then
      local chans = {}
      for ch in pairs(counters) do
        if type(ch) == 'string' and not blob_of(info[s][2], esc(ch)) then
          chans[#chans + 1] = esc(ch)
        end
      end
      local seen = {[s] = true}
      local cur = info[s][1]
      while cur and #chans > 0 and info[cur] do
        if seen[cur] then
          return redis.error_reply('LGRS_CORRUPT the parent chain of checkpoint ' .. s ..
            ' loops back to ' .. cur .. ': a parent field was changed outside the saver; ' ..
            'nothing was removed (delete_thread() removes the whole session)')
        end
        seen[cur] = true
        needed[cur] = true
        local rest = {}
        for j = 1, #chans do
          if not blob_of(info[cur][2], chans[j]) then rest[#rest + 1] = chans[j] end
        end
        chans = rest
        cur = info[cur][1]
      end
    end
  end
end

-- Writes start here.
for i = 1, #stale do redis.call('ZREM', timeline, stale[i]) end

local candidates = {}
for id in pairs(drop) do candidates[#candidates + 1] = id end
for i = 1, #hidden do
  if not drop[hidden[i]] then candidates[#candidates + 1] = hidden[i] end
end

local deleted, orphans, runs = 0, {}, {}
for i = 1, #candidates do
  local id = candidates[i]
  local rk = rec_prefix .. esc(id)
  if needed[id] then
    redis.call('HSET', rk, 'hidden', '1')
  else
    local list = blob_list(info[id][2])
    for j = 1, #list do orphans[list[j]] = true end
    local run = run_of(info[id][5], info[id][3])
    if run then
      runs[#runs + 1] = run
      runs[#runs + 1] = id
    end
    redis.call('DEL', rk, writes_prefix .. esc(id))
    redis.call('ZREM', timeline, id)
    info[id] = nil
    deleted = deleted + 1
  end
end

-- A blob is shared by every checkpoint whose channel did not change: delete
-- only those no remaining checkpoint refers to.
if deleted > 0 then
  for _, f in pairs(info) do
    local list = blob_list(f[2])
    for j = 1, #list do orphans[list[j]] = nil end
  end
  for suffix in pairs(orphans) do redis.call('DEL', blob_prefix .. suffix) end
end

local top = nil
local rest = redis.call('ZREVRANGEBYLEX', timeline, '+', '-')
for i = 1, #rest do
  if info[rest[i]] and not redis.call('HGET', rec_prefix .. esc(rest[i]), 'hidden') then
    top = rest[i]
    break
  end
end
if top then
  redis.call('SET', latest, top, 'KEEPTTL')
  local pttl = redis.call('PTTL', timeline)
  if pttl > 0 and redis.call('PTTL', latest) == -1 then redis.call('PEXPIRE', latest, pttl) end
else
  redis.call('DEL', latest)
  if #rest == 0 then
    -- The namespace is empty: forget it (the set goes when its last one does).
    redis.call('DEL', timeline)
    redis.call('SREM', namespaces, checkpoint_ns)
  end
end
return {deleted, runs, top and 0 or 1}
