-- Remove checkpoints of one namespace without breaking DeltaChannel history.
-- KEYS: timeline, latest, namespaces set
-- ARGV: rec_prefix, writes_prefix, blob_prefix, mode, n, checkpoint_ns, ids...
--   mode 'keep_latest': keep only the newest checkpoint
--   mode 'cap':         keep the newest ARGV[5] checkpoints (runs only once the
--                       namespace holds a quarter more, so the cost is amortized)
--   mode 'ids':         remove the given ids
-- A removed checkpoint that a kept one still needs (an ancestor between it and
-- its DeltaChannel snapshot) is hidden instead: gone from listings, kept for
-- the history walk. Hidden checkpoints are reconsidered on every call.
-- Returns {number deleted, {run_id, id, ...}, emptied}: the runs of the deleted
-- checkpoints, whose index sets the caller updates (they live in other slots),
-- and 1 when no visible checkpoint is left in the namespace.
local rp, wp, bp, mode = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local tl, latest, namespaces = KEYS[1], KEYS[2], KEYS[3]
local n = tonumber(ARGV[5])

if mode == 'cap' then
  local size = redis.call('ZCARD', tl)
  if size <= n + math.max(1, math.floor(n / 4)) then return {0, {}, 0} end
end

local ids = redis.call('ZRANGE', tl, 0, -1)
local info, live, hidden = {}, {}, {}
for i = 1, #ids do
  local f = redis.call('HMGET', rp .. esc(ids[i]), 'parent', 'blobs', 'metadata', 'hidden')
  if f[3] then
    info[ids[i]] = f
    if f[4] then hidden[#hidden + 1] = ids[i] else live[#live + 1] = ids[i] end
  else
    redis.call('ZREM', tl, ids[i])
  end
end

local drop = {}
if mode == 'keep_latest' then
  for i = 1, #live - 1 do drop[live[i]] = true end
elseif mode == 'cap' then
  for i = 1, #live - n do drop[live[i]] = true end
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
        if not blob_of(info[s][2], esc(ch)) then chans[#chans + 1] = esc(ch) end
      end
      local cur = info[s][1]
      while cur and #chans > 0 and info[cur] do
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

local candidates = {}
for id in pairs(drop) do candidates[#candidates + 1] = id end
for i = 1, #hidden do
  if not drop[hidden[i]] then candidates[#candidates + 1] = hidden[i] end
end

local deleted, orphans, runs = 0, {}, {}
for i = 1, #candidates do
  local id = candidates[i]
  local rk = rp .. esc(id)
  if needed[id] then
    redis.call('HSET', rk, 'hidden', '1')
  else
    for suffix in string.gmatch(info[id][2] or '', '[^\n]+') do orphans[suffix] = true end
    local run = run_of(info[id][3])
    if run then
      runs[#runs + 1] = run
      runs[#runs + 1] = id
    end
    redis.call('DEL', rk, wp .. esc(id))
    redis.call('ZREM', tl, id)
    info[id] = nil
    deleted = deleted + 1
  end
end

-- A blob is shared by every checkpoint whose channel did not change: delete
-- only those no remaining checkpoint refers to.
if deleted > 0 then
  for id, f in pairs(info) do
    for suffix in string.gmatch(f[2] or '', '[^\n]+') do orphans[suffix] = nil end
  end
  for suffix in pairs(orphans) do redis.call('DEL', bp .. suffix) end
end

local top = nil
local rest = redis.call('ZREVRANGEBYLEX', tl, '+', '-')
for i = 1, #rest do
  if info[rest[i]] and not redis.call('HGET', rp .. esc(rest[i]), 'hidden') then
    top = rest[i]
    break
  end
end
if top then
  redis.call('SET', latest, top, 'KEEPTTL')
  local pttl = redis.call('PTTL', tl)
  if pttl > 0 and redis.call('PTTL', latest) == -1 then redis.call('PEXPIRE', latest, pttl) end
else
  redis.call('DEL', latest)
  if #rest == 0 then
    -- The namespace is empty: forget it (the set goes when its last one does).
    redis.call('DEL', tl)
    redis.call('SREM', namespaces, ARGV[6])
  end
end
return {deleted, runs, top and 0 or 1}
