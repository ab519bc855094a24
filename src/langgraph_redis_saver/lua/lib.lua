-- Shared helpers for every script. lua/__init__.py declares these names as
-- locals on the script's first line and appends this file after the script's
-- body, so the body keeps its own line numbers in Redis errors (Redis has no
-- includes, and plain EVAL scripts keep Redis 6.2 support). Write helpers as
-- `function name(...)`: that assigns the declared local, never a global.
-- Record field names are the table `Field` in keys.py; a test holds them.

-- Twin of keys.escape(): a test runs both over every byte.
function esc(s)
  if s == '' then return '%' end
  if s == 'latest' then return '%6Catest' end
  -- Most ids need no escaping: a plain find is much cheaper than gsub.
  if not string.find(s, '[%%:{}%*%?%[%]\\%c ]') then return s end
  return (string.gsub(s, '[%%:{}%*%?%[%]\\%c ]', function(c)
    return string.format('%%%02X', string.byte(c))
  end))
end

-- A pickle where `latest` should hold a checkpoint id: a session of the
-- pickled store this saver replaces (docs/migration.md). Protocols 2-5 start
-- with 0x80; protocols 0 and 1 write the session dict as '(' (MARK) or '}'
-- (EMPTY_DICT) ... '.' (STOP), with a '\n' or NUL inside (memo PUTs). A
-- checkpoint id (uuid-like: hex digits and '-') never starts with any of
-- these. Twin of legacy._store.is_pickle; a test runs both over samples.
function is_legacy(value)
  if not value or value == '' then return false end
  local first = string.byte(value, 1)
  if first == 128 then return true end
  return (first == 40 or first == 125) and string.byte(value, -1) == 46
    and string.find(value, '[%z\n]') ~= nil
end

-- The error reply for a legacy session: nothing was read or written.
function legacy_error(latest)
  return redis.error_reply('LGRS_LEGACY ' .. latest .. ' holds a legacy pickled session, ' ..
    'not a checkpoint id; it was left untouched. Convert it with: ' ..
    'lgrs migrate --from-pickle (docs/migration.md)')
end

-- The blob list of a record (its `blobs` field): newline-separated blob key
-- suffixes `<CH>:<VER>` (escaped parts never hold '\n'). Twin of
-- _records.blob_list(); the one place that splits it.
function blob_list(field)
  local out = {}
  if field and field ~= '' then
    for suffix in string.gmatch(field, '[^\n]+') do out[#out + 1] = suffix end
  end
  return out
end

function blob_keys(prefix, field)
  local out = blob_list(field)
  for i = 1, #out do out[i] = prefix .. out[i] end
  return out
end

-- The suffix of the blob that a blob list holds for the channel whose escaped
-- name is `ech`, or nil.
function blob_of(field, ech)
  local p = ech .. ':'
  local list = blob_list(field)
  for i = 1, #list do
    if string.sub(list[i], 1, #p) == p then return list[i] end
  end
  return nil
end

-- The blobs a record lists for the channel whose escaped name is `ech`, as
-- {suffix, value, ...}: its value first, then the bases its list link leads
-- to (key-schema.md, "List links"), at most 257 (a reader follows at most
-- 256 links: _lists.READ_LIMIT). Empty when the record has no value for it.
function channel_blobs(field, ech, blob_prefix)
  local p = ech .. ':'
  local list = blob_list(field)
  local out = {}
  for i = 1, #list do
    if string.sub(list[i], 1, #p) == p then
      out[#out + 1] = list[i]
      out[#out + 1] = redis.call('GET', blob_prefix .. list[i])
      if #out >= 514 then break end
    end
  end
  return out
end

-- The blob keys and values a record lists, for reading it. A record lists
-- one blob per channel that has a value, each once, as `<CH>:<VER>` (escaped
-- parts never hold ':'); at most 10000 (documented in docs/key-schema.md). A
-- blobs field edited to repeat one suffix thousands of times would make MGET
-- return gigabytes from one big value: any of these is a corrupt record.
-- MGET runs in chunks: unpack() of a long list overflows Lua's C stack.
-- Errors are raised as strings (level 0, no position): Redis 6.2's error
-- handler cannot take the {err = ...} tables that 7.x accepts.
function read_blobs(rk, blob_prefix, field)
  local list = blob_list(field)
  if #list > 10000 then
    error('LGRS_CORRUPT ' .. rk .. ' lists ' .. #list ..
      ' channel values, more than the 10000 a record can hold: its blobs field was edited', 0)
  end
  local seen, bkeys = {}, {}
  for i = 1, #list do
    local s = list[i]
    if seen[s] or not string.find(s, '^[^:]+:[^:]+$') then
      error('LGRS_CORRUPT ' .. rk .. ' lists the channel value ' ..
        string.sub(s, 1, 80) .. (seen[s] and ' twice' or ', which is not <channel>:<version>') ..
        ': its blobs field was edited', 0)
    end
    seen[s] = true
    bkeys[i] = blob_prefix .. s
  end
  local values = {}
  for i = 1, #bkeys, 1000 do
    local chunk = redis.call('MGET', unpack(bkeys, i, math.min(i + 999, #bkeys)))
    for j = 1, #chunk do values[#values + 1] = chunk[j] end
  end
  return bkeys, values
end

function expire_all(keys, ttl)
  for i = 1, #keys do
    redis.call('PEXPIRE', keys[i], ttl)
  end
end

-- One checkpoint as returned to Python (_records.parse_entry):
-- {id, format, checkpoint, metadata, parent|false, blobs|false, {blob values}, {writes}}
-- or false when the record does not exist (or is hidden and `visible_only`).
-- Refreshes TTLs when ttl > 0.
function load_checkpoint(rec_prefix, writes_prefix, blob_prefix, cid, ttl, visible_only)
  local rk = rec_prefix .. esc(cid)
  local rec = redis.call('HMGET', rk, 'v', 'checkpoint', 'metadata', 'parent', 'blobs', 'hidden')
  if not rec[2] then return false end
  if visible_only and rec[6] then return false end
  local bkeys, values = read_blobs(rk, blob_prefix, rec[5])
  local wk = writes_prefix .. esc(cid)
  local writes = redis.call('HVALS', wk)
  if ttl > 0 then
    redis.call('PEXPIRE', rk, ttl)
    redis.call('PEXPIRE', wk, ttl)
    expire_all(bkeys, ttl)
  end
  return {cid, rec[1], rec[2], rec[3], rec[4], rec[5], values, writes}
end

-- The run id of a checkpoint, spelled as Python's str() spelled it when it
-- wrote the run's index set: the record's `run` field (written since it
-- exists: an opaque string, never parsed), else, for older records, the
-- `run_id` of its metadata JSON. Nil when there is none.
function run_of(run, metadata)
  if run then return run end
  if not metadata then return nil end
  local ok, md = pcall(cjson.decode, metadata)
  if not ok or type(md) ~= 'table' then return nil end
  return json_scalar(md['run_id'])
end

-- A JSON scalar decoded by cjson as Python's str() spells it, or nil. cjson
-- turns every number into a double: integers are printed with all digits
-- (exact up to 2^53) rather than Lua's 14-digit tostring().
function json_scalar(v)
  if type(v) == 'string' then return v end
  if type(v) == 'number' and v == math.floor(v) and math.abs(v) < 2^63 then
    return string.format('%d', v)
  end
  return nil
end
