-- One checkpoint, by id or the newest.
--
-- KEYS[1]  latest          the namespace's `latest` pointer
-- KEYS[2]  timeline        the namespace's timeline
-- ARGV[1]  checkpoint_id   the id to read, '' for the newest
-- ARGV[2]  rec_prefix      + escaped id = a checkpoint hash of the namespace
-- ARGV[3]  writes_prefix   + escaped id = a pending-writes hash
-- ARGV[4]  blob_prefix     + stored suffix = a blob key
-- ARGV[5]  refresh_ttl_ms  refresh the TTL of what is read, 0 for no
-- Returns the checkpoint as load_checkpoint() shapes it, or false; an LGRS_LEGACY
-- error, reading nothing, when `latest` holds a legacy pickle.
local checkpoint_id = ARGV[1]
local rec_prefix = ARGV[2]
local writes_prefix = ARGV[3]
local blob_prefix = ARGV[4]
local refresh_ttl_ms = tonumber(ARGV[5])
local latest = KEYS[1]
local timeline = KEYS[2]
if checkpoint_id ~= '' then
  return load_checkpoint(rec_prefix, writes_prefix, blob_prefix, checkpoint_id, refresh_ttl_ms)
end
local cid = redis.call('GET', latest)
if is_legacy(cid) then return legacy_error(latest) end
if cid then
  local found = load_checkpoint(rec_prefix, writes_prefix, blob_prefix, cid, refresh_ttl_ms)
  if found then
    if refresh_ttl_ms > 0 then redis.call('PEXPIRE', latest, refresh_ttl_ms) end
    return found
  end
end
-- `latest` is gone or dangling (a record removed by hand or evicted): fall back
-- to the newest id that still has a record, and repair the pointer. Bounded by
-- the timeline's length.
local ids = redis.call('ZREVRANGEBYLEX', timeline, '+', '-')
for i = 1, #ids do
  local found = load_checkpoint(rec_prefix, writes_prefix, blob_prefix, ids[i], refresh_ttl_ms, true)
  if found then
    redis.call('SET', latest, ids[i])
    local pttl = redis.call('PTTL', timeline)
    if pttl > 0 then redis.call('PEXPIRE', latest, pttl) end
    return found
  end
  if redis.call('EXISTS', rec_prefix .. esc(ids[i])) == 0 then
    redis.call('ZREM', timeline, ids[i])
  end
end
return false
