-- Delete every namespace of one session, atomically.
-- KEYS: namespaces set
-- ARGV: n, then n groups of (rec_prefix, writes_prefix, blob_prefix, timeline),
--       then the metadata keys the sessions index is kept by (e.g. user_id)
-- Returns {keys deleted, {key, value, ...}, {run_id, group, id, ...}}: the
-- indexed metadata values and the runs of the deleted checkpoints, so the
-- caller can take the session out of those cross-session indexes too.
local n = tonumber(ARGV[1])
local index_keys = {}
for i = 2 + 4 * n, #ARGV do index_keys[#index_keys + 1] = ARGV[i] end
local deleted, seen, values, runs = 0, {}, {}, {}
for g = 0, n - 1 do
  local rp, wp, bp, tl = ARGV[2 + 4 * g], ARGV[3 + 4 * g], ARGV[4 + 4 * g], ARGV[5 + 4 * g]
  local ids = redis.call('ZRANGE', tl, 0, -1)
  for i = 1, #ids do
    local rk = rp .. esc(ids[i])
    local f = redis.call('HMGET', rk, 'blobs', 'metadata')
    local bkeys = blob_keys(bp, f[1])
    for j = 1, #bkeys do
      deleted = deleted + redis.call('DEL', bkeys[j])
    end
    if #index_keys > 0 and f[2] then
      local ok, md = pcall(cjson.decode, f[2])
      if ok and type(md) == 'table' then
        for _, k in ipairs(index_keys) do
          local v = md[k]
          if (type(v) == 'string' or type(v) == 'number') and not seen[k .. '\0' .. v] then
            seen[k .. '\0' .. v] = true
            values[#values + 1] = k
            values[#values + 1] = tostring(v)
          end
        end
      end
    end
    local run = run_of(f[2])
    if run then
      runs[#runs + 1] = run
      runs[#runs + 1] = g
      runs[#runs + 1] = ids[i]
    end
    deleted = deleted + redis.call('DEL', rk, wp .. esc(ids[i]))
  end
  deleted = deleted + redis.call('DEL', tl, rp .. 'latest')
end
return {deleted + redis.call('DEL', KEYS[1]), values, runs}
