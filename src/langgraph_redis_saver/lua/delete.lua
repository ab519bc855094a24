-- Delete every namespace of one session, atomically.
--
-- KEYS[1]  namespaces      the session's namespaces set
-- ARGV[1]  n_namespaces    groups in `groups`
-- ARGV[..] groups*         per namespace: (rec_prefix, writes_prefix, blob_prefix, timeline)
-- ARGV[..] index_keys*     the metadata keys the sessions index is kept by (e.g.
--                          user_id), for records older than the `indexed` field
-- Returns {keys deleted, {key, value, ...}, {run_id, group, id, ...}}: the
-- sessions-index entries and the runs of the deleted checkpoints, so the
-- caller can take the session out of those cross-session indexes too. Values
-- come back as Python wrote them (the `indexed` and `run` fields), never
-- re-derived from numbers. Bounded by the session's timelines. A key that
-- holds another type (planted by hand) is deleted, not read: a damaged
-- session can always be removed.
local n_namespaces = tonumber(ARGV[1])
local namespaces = KEYS[1]
local index_keys = {}
for i = 2 + 4 * n_namespaces, #ARGV do index_keys[#index_keys + 1] = ARGV[i] end
local deleted, seen, values, runs = 0, {}, {}, {}

local function add(k, v)
  if type(k) == 'string' and type(v) == 'string' and not seen[k .. '\0' .. v] then
    seen[k .. '\0' .. v] = true
    values[#values + 1] = k
    values[#values + 1] = v
  end
end

for g = 0, n_namespaces - 1 do
  local rp, wp, bp, tl = ARGV[2 + 4 * g], ARGV[3 + 4 * g], ARGV[4 + 4 * g], ARGV[5 + 4 * g]
  local ids = redis.pcall('ZRANGE', tl, 0, -1)
  if ids.err then ids = {} end
  for i = 1, #ids do
    local rk = rp .. esc(ids[i])
    local f = redis.pcall('HMGET', rk, 'blobs', 'metadata', 'run', 'indexed')
    if f.err then f = {} end
    local bkeys = blob_keys(bp, f[1])
    for j = 1, #bkeys do
      deleted = deleted + redis.call('DEL', bkeys[j])
    end
    if f[4] then
      local ok, pairs_ = pcall(cjson.decode, f[4])
      if ok and type(pairs_) == 'table' then
        for _, kv in ipairs(pairs_) do
          if type(kv) == 'table' then add(kv[1], kv[2]) end
        end
      end
    elseif #index_keys > 0 and f[2] then
      local ok, md = pcall(cjson.decode, f[2])
      if ok and type(md) == 'table' then
        for _, k in ipairs(index_keys) do add(k, json_scalar(md[k])) end
      end
    end
    local run = run_of(f[3], f[2])
    if run then
      runs[#runs + 1] = run
      runs[#runs + 1] = g
      runs[#runs + 1] = ids[i]
    end
    deleted = deleted + redis.call('DEL', rk, wp .. esc(ids[i]))
  end
  deleted = deleted + redis.call('DEL', tl, rp .. 'latest')
end
return {deleted + redis.call('DEL', namespaces), values, runs}
