-- Walk the parent chain of one checkpoint for DeltaChannel reconstruction.
--
-- KEYS[1]  latest          the namespace's `latest` pointer
-- ARGV[1]  rec_prefix      + escaped id = a checkpoint hash of the namespace
-- ARGV[2]  writes_prefix   + escaped id = a pending-writes hash
-- ARGV[3]  blob_prefix     + stored suffix = a blob key
-- ARGV[4]  checkpoint_id   the checkpoint whose ancestors to walk, '' for the newest
-- ARGV[..] channels*       escaped channel names
-- Returns one entry per ancestor visited, nearest first:
--   {id, {write envelopes}, {escaped channel, {suffix, value, ...}, ...}}
-- where a seed's {suffix, value, ...} is its blob, then the bases its list
-- link leads to (a list channel stored before it became a DeltaChannel).
-- A channel's walk ends at the nearest ancestor that stores a value for it
-- (that ancestor's own writes still count); the target's writes do not. Each
-- record is visited at most once: a `parent` cycle is an error, not a hang.
local rec_prefix = ARGV[1]
local writes_prefix = ARGV[2]
local blob_prefix = ARGV[3]
local checkpoint_id = ARGV[4]
local latest = KEYS[1]
local cid = checkpoint_id
if cid == '' then
  cid = redis.call('GET', latest)
  if not cid then return {} end
end
local remaining, left = {}, 0
for i = 5, #ARGV do
  if not remaining[ARGV[i]] then left = left + 1 end
  remaining[ARGV[i]] = true
end
local out = {}
local seen = {[cid] = true}
local cur = redis.call('HGET', rec_prefix .. esc(cid), 'parent')
while cur and left > 0 do
  if seen[cur] then
    return redis.error_reply('LGRS_CORRUPT the parent chain of checkpoint ' .. cid ..
      ' loops back to ' .. cur .. ': a parent field was changed outside the saver')
  end
  seen[cur] = true
  local rk = rec_prefix .. esc(cur)
  local rec = redis.call('HMGET', rk, 'parent', 'blobs', 'checkpoint')
  if not rec[3] then break end
  local seeds = {}
  for ech in pairs(remaining) do
    local found = channel_blobs(rec[2], ech, blob_prefix)
    if #found > 0 then
      seeds[#seeds + 1] = ech
      seeds[#seeds + 1] = found
    end
  end
  for i = 1, #seeds, 2 do
    remaining[seeds[i]] = nil
    left = left - 1
  end
  out[#out + 1] = {cur, redis.call('HVALS', writes_prefix .. esc(cur)), seeds}
  cur = rec[1]
end
return out
