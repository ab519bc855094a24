-- Keys, bytes and checkpoints of one session, counted server-side (read-only).
--
-- KEYS[1]  namespaces      the session's namespaces set
-- ARGV[1]  n_namespaces    groups in `groups`
-- ARGV[..] groups*         per namespace: (rec_prefix, writes_prefix, blob_prefix, timeline, latest)
-- Returns {live keys, bytes, checkpoints}. The keys are the ones the
-- session's indexes name, each counted once: the namespaces set; per
-- namespace its timeline and `latest`; per checkpoint its record, its
-- pending-writes hash and the blobs its record lists. Bytes is the sum of
-- MEMORY USAGE over them, or -1 when the user may not run MEMORY (the keys
-- are then counted with EXISTS). Bounded by the session's timelines: one
-- call for a session instead of one MEMORY USAGE per key from the client.
local n_namespaces = tonumber(ARGV[1])
local namespaces = KEYS[1]
local seen, live, bytes, checkpoints, denied = {}, 0, 0, 0, false

local function add(k)
  if seen[k] then return end
  seen[k] = true
  if not denied then
    local used = redis.pcall('MEMORY', 'USAGE', k)
    if type(used) == 'table' and used.err then
      denied = true
    else
      if used then
        live = live + 1
        bytes = bytes + used
      end
      return
    end
  end
  live = live + redis.call('EXISTS', k)
end

add(namespaces)
for g = 0, n_namespaces - 1 do
  local at = 2 + 5 * g
  local rp, wp, bp, tl, lt = ARGV[at], ARGV[at + 1], ARGV[at + 2], ARGV[at + 3], ARGV[at + 4]
  add(tl)
  add(lt)
  local ids = redis.call('ZRANGE', tl, 0, -1)
  checkpoints = checkpoints + #ids
  for i = 1, #ids do
    local rk = rp .. esc(ids[i])
    add(rk)
    add(wp .. esc(ids[i]))
    local bkeys = blob_keys(bp, redis.call('HGET', rk, 'blobs'))
    for j = 1, #bkeys do add(bkeys[j]) end
  end
end
if denied then bytes = -1 end
return {live, bytes, checkpoints}
