-- A page of checkpoints of one namespace, newest first.
-- KEYS: timeline
-- ARGV: rec_prefix, writes_prefix, blob_prefix, before_id ('' = none),
--       limit, metadata filter as JSON ('' = none), exact checkpoint_id ('' = any)
-- Returns {entries, cursor}: cursor is the last id examined ('' when exhausted).
local limit = tonumber(ARGV[5])
local filter = nil
if ARGV[6] ~= '' then filter = cjson.decode(ARGV[6]) end

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
if ARGV[7] ~= '' then
  -- Python has already checked the id against `before`.
  local e = load_checkpoint(ARGV[1], ARGV[2], ARGV[3], ARGV[7], 0, true)
  if e and matches(e[4]) then out[1] = e end
  return {out, ''}
end

local hi = '+'
if ARGV[4] ~= '' then hi = '(' .. ARGV[4] end
local batch = 64
if limit > 0 and limit < batch then batch = limit end
while true do
  local ids = redis.call('ZREVRANGEBYLEX', KEYS[1], hi, '-', 'LIMIT', 0, batch)
  for i = 1, #ids do
    local e = load_checkpoint(ARGV[1], ARGV[2], ARGV[3], ids[i], 0, true)
    if not e then
      -- The record expired or was removed: drop its timeline entry. (A
      -- hidden record stays: a newer checkpoint's delta history needs it.)
      if redis.call('EXISTS', ARGV[1] .. esc(ids[i])) == 0 then
        redis.call('ZREM', KEYS[1], ids[i])
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
