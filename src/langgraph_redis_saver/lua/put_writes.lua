-- Store pending writes of one checkpoint and keep the checkpoint alive.
-- KEYS: writes, record, latest, timeline, namespaces
-- ARGV: ttl_ms, blob_prefix, n, then n triples (field, envelope, mode) where
--       mode 'nx' keeps an existing regular write and 'set' replaces a special one.
local ttl = tonumber(ARGV[1])
local n = tonumber(ARGV[3])
for i = 0, n - 1 do
  local field, value, mode = ARGV[4 + 3 * i], ARGV[5 + 3 * i], ARGV[6 + 3 * i]
  if mode == 'nx' then
    redis.call('HSETNX', KEYS[1], field, value)
  else
    redis.call('HSET', KEYS[1], field, value)
  end
end
if ttl > 0 then
  for i = 1, 5 do
    redis.call('PEXPIRE', KEYS[i], ttl)
  end
  expire_all(blob_keys(ARGV[2], redis.call('HGET', KEYS[2], 'blobs')), ttl)
end
return n
