-- Delete every namespace of one session, atomically.
-- KEYS: namespaces set
-- ARGV: n, then n groups of (rec_prefix, writes_prefix, blob_prefix, timeline)
local n = tonumber(ARGV[1])
local deleted = 0
for g = 0, n - 1 do
  local rp, wp, bp, tl = ARGV[2 + 4 * g], ARGV[3 + 4 * g], ARGV[4 + 4 * g], ARGV[5 + 4 * g]
  local ids = redis.call('ZRANGE', tl, 0, -1)
  for i = 1, #ids do
    local rk = rp .. esc(ids[i])
    local bkeys = blob_keys(bp, redis.call('HGET', rk, 'blobs'))
    for j = 1, #bkeys do
      deleted = deleted + redis.call('DEL', bkeys[j])
    end
    deleted = deleted + redis.call('DEL', rk, wp .. esc(ids[i]))
  end
  deleted = deleted + redis.call('DEL', tl, rp .. 'latest')
end
return deleted + redis.call('DEL', KEYS[1])
