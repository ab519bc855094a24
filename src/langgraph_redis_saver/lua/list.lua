-- A page of checkpoints of one namespace, newest first.
--
-- KEYS[1]  timeline        the namespace's timeline
-- ARGV[1]  rec_prefix      + escaped id = a checkpoint hash of the namespace
-- ARGV[2]  writes_prefix   + escaped id = a pending-writes hash
-- ARGV[3]  blob_prefix     + stored suffix = a blob key
-- ARGV[4]  before_id       list ids below this one, '' for no bound
-- ARGV[5]  limit           at most this many, 0 for a default page
-- ARGV[6]  filter_json     metadata filter as a JSON object, '' for none
-- ARGV[7]  exact_id        only this checkpoint id, '' for any
-- Returns {entries, cursor}: cursor is the last id examined ('' when exhausted).
local rec_prefix = ARGV[1]
local writes_prefix = ARGV[2]
local blob_prefix = ARGV[3]
local before_id = ARGV[4]
local limit = tonumber(ARGV[5])
local filter_json = ARGV[6]
local exact_id = ARGV[7]
local timeline = KEYS[1]
local filter = nil
if filter_json ~= '' then filter = cjson.decode(filter_json) end

-- Recursion is bounded by the depth of the caller's filter (`a`).
local function equal(a, b)
  if type(a) ~= type(b) then return false end
  if type(a) ~= 'table' then return a == b end
  for k, v in pairs(a) do
    if not equal(v, b[k]) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end

local function matches(metadata)
  if not filter then return true end
  local ok, md = pcall(cjson.decode, metadata)
  if not ok or type(md) ~= 'table' then return false end
  for k, want in pairs(filter) do
    local have = md[k]
    if have == nil then have = cjson.null end
    if not equal(want, have) then return false end
  end
  return true
end

local out = {}
if exact_id ~= '' then
  -- Python has already checked the id against `before`.
  local e = load_checkpoint(rec_prefix, writes_prefix, blob_prefix, exact_id, 0, true)
  if e and matches(e[4]) then out[1] = e end
  return {out, ''}
end

local hi = '+'
if before_id ~= '' then hi = '(' .. before_id end
local batch = 64
if limit > 0 and limit < batch then batch = limit end
-- Each pass moves `hi` strictly down the timeline: at most ZCARD / batch + 1.
local passes = math.floor(redis.call('ZCARD', timeline) / batch) + 1
for _ = 1, passes do
  local ids = redis.call('ZREVRANGEBYLEX', timeline, hi, '-', 'LIMIT', 0, batch)
  for i = 1, #ids do
    local e = load_checkpoint(rec_prefix, writes_prefix, blob_prefix, ids[i], 0, true)
    if not e then
      -- The record expired or was removed: drop its timeline entry. (A
      -- hidden record stays: a newer checkpoint's delta history needs it.)
      if redis.call('EXISTS', rec_prefix .. esc(ids[i])) == 0 then
        redis.call('ZREM', timeline, ids[i])
      end
    elseif matches(e[4]) then
      out[#out + 1] = e
      if limit > 0 and #out >= limit then
        return {out, ids[i]}
      end
    end
  end
  if #ids < batch then return {out, ''} end
  hi = '(' .. ids[#ids]
end
return {out, ''}
