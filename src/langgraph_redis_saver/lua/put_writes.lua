-- Store pending writes of one checkpoint and keep the checkpoint alive.
--
-- KEYS[1]  writes         the checkpoint's pending-writes hash
-- KEYS[2]  record         the checkpoint hash
-- KEYS[3]  latest         the namespace's `latest` pointer
-- KEYS[4]  timeline       the namespace's timeline
-- KEYS[5]  namespaces     the session's namespaces set
-- ARGV[1]  ttl_ms         expiry in ms, 0 for none
-- ARGV[2]  blob_prefix    + stored suffix = a blob key
-- ARGV[3]  n_writes       triples in `entries`
-- ARGV[..] entries*       (field, envelope, mode) triples; mode 'nx' keeps an
--                         existing regular write, 'set' replaces a special one
-- Returns n_writes.
local ttl_ms = tonumber(ARGV[1])
local blob_prefix = ARGV[2]
local n_writes = tonumber(ARGV[3])
local writes = KEYS[1]
local record = KEYS[2]
local latest = KEYS[3]
local timeline = KEYS[4]
local namespaces = KEYS[5]
for i = 0, n_writes - 1 do
  local field, value, mode = ARGV[4 + 3 * i], ARGV[5 + 3 * i], ARGV[6 + 3 * i]
  if mode == 'nx' then
    redis.call('HSETNX', writes, field, value)
  else
    redis.call('HSET', writes, field, value)
  end
end
if ttl_ms > 0 then
  for _, key in ipairs({writes, record, latest, timeline, namespaces}) do
    redis.call('PEXPIRE', key, ttl_ms)
  end
  expire_all(blob_keys(blob_prefix, redis.call('HGET', record, 'blobs')), ttl_ms)
end
return n_writes
