-- Walk the parent chain of one checkpoint for DeltaChannel reconstruction.
-- KEYS: latest
-- ARGV: rec_prefix, writes_prefix, blob_prefix, checkpoint_id ('' = newest),
--       escaped channel names...
-- Returns one entry per ancestor visited, nearest first:
--   {id, {write envelopes}, {escaped channel, seed value, ...}}
-- A channel's walk ends at the nearest ancestor that stores a value for it
-- (that ancestor's own writes still count); the target's writes do not.
local rp, wp, bp = ARGV[1], ARGV[2], ARGV[3]
local cid = ARGV[4]
if cid == '' then
  cid = redis.call('GET', KEYS[1])
  if not cid then return {} end
end
local remaining, left = {}, 0
for i = 5, #ARGV do
  if not remaining[ARGV[i]] then left = left + 1 end
  remaining[ARGV[i]] = true
end
local out = {}
local cur = redis.call('HGET', rp .. esc(cid), 'parent')
while cur and left > 0 do
  local rk = rp .. esc(cur)
  local rec = redis.call('HMGET', rk, 'parent', 'blobs', 'checkpoint')
  if not rec[3] then break end
  local seeds = {}
  for ech in pairs(remaining) do
    local suffix = blob_of(rec[2], ech)
    if suffix then
      seeds[#seeds + 1] = ech
      seeds[#seeds + 1] = redis.call('GET', bp .. suffix)
    end
  end
  for i = 1, #seeds, 2 do
    remaining[seeds[i]] = nil
    left = left - 1
  end
  out[#out + 1] = {cur, redis.call('HVALS', wp .. esc(cur)), seeds}
  cur = rec[1]
end
return out
