-- One checkpoint, by id or the newest.
-- KEYS: latest, timeline
-- ARGV: checkpoint_id ('' for the newest), rec_prefix, writes_prefix, blob_prefix, refresh_ttl_ms
local ttl = tonumber(ARGV[5])
local cid = ARGV[1]
if cid ~= '' then
  return load_checkpoint(ARGV[2], ARGV[3], ARGV[4], cid, ttl)
end
cid = redis.call('GET', KEYS[1])
if is_legacy(cid) then return -1 end
if cid then
  local found = load_checkpoint(ARGV[2], ARGV[3], ARGV[4], cid, ttl)
  if found then
    if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
    return found
  end
end
-- `latest` is gone or dangling (a record removed by hand or evicted): fall back
-- to the newest id that still has a record, and repair the pointer.
local ids = redis.call('ZREVRANGEBYLEX', KEYS[2], '+', '-')
for i = 1, #ids do
  local found = load_checkpoint(ARGV[2], ARGV[3], ARGV[4], ids[i], ttl, true)
  if found then
    redis.call('SET', KEYS[1], ids[i])
    local pttl = redis.call('PTTL', KEYS[2])
    if pttl > 0 then redis.call('PEXPIRE', KEYS[1], pttl) end
    return found
  end
  if redis.call('EXISTS', ARGV[2] .. esc(ids[i])) == 0 then
    redis.call('ZREM', KEYS[2], ids[i])
  end
end
return false
