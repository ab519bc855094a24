-- Shared helpers, prepended to every script by lua/__init__.py (Redis has no
-- includes, and EVAL-based scripts keep Redis 6.2 support).

-- Twin of keys.escape(): a test runs both over every byte.
local function esc(s)
  if s == '' then return '%' end
  if s == 'latest' then return '%6Catest' end
  return (string.gsub(s, '[%%:{}%*%?%[%]\\%c ]', function(c)
    return string.format('%%%02X', string.byte(c))
  end))
end

-- A pickle (protocol 2+ starts with 0x80) where `latest` should hold a
-- checkpoint id: a legacy session (docs/migration.md). No UTF-8 id starts so.
local function is_legacy(v)
  return v and string.byte(v, 1) == 128
end

-- Blob key suffixes are stored newline-separated; escaped parts never hold '\n'.
local function blob_keys(prefix, field)
  local out = {}
  if field and field ~= '' then
    for suffix in string.gmatch(field, '[^\n]+') do
      out[#out + 1] = prefix .. suffix
    end
  end
  return out
end

local function expire_all(keys, ttl)
  for i = 1, #keys do
    redis.call('PEXPIRE', keys[i], ttl)
  end
end

-- One checkpoint as returned to Python:
-- {id, format, checkpoint, metadata, parent|false, blobs|false, {blob values}, {writes}}
-- or false when the record does not exist (or is hidden and `visible_only`).
-- Refreshes TTLs when ttl > 0.
local function load_checkpoint(rec_prefix, writes_prefix, blob_prefix, cid, ttl, visible_only)
  local rk = rec_prefix .. esc(cid)
  local rec = redis.call('HMGET', rk, 'v', 'checkpoint', 'metadata', 'parent', 'blobs', 'hidden')
  if not rec[2] then return false end
  if visible_only and rec[6] then return false end
  local bkeys = blob_keys(blob_prefix, rec[5])
  local values = {}
  if #bkeys > 0 then values = redis.call('MGET', unpack(bkeys)) end
  local wk = writes_prefix .. esc(cid)
  local writes = redis.call('HVALS', wk)
  if ttl > 0 then
    redis.call('PEXPIRE', rk, ttl)
    redis.call('PEXPIRE', wk, ttl)
    expire_all(bkeys, ttl)
  end
  return {cid, rec[1], rec[2], rec[3], rec[4], rec[5], values, writes}
end

-- The run id named by a checkpoint's metadata JSON, spelled as Python's str()
-- spells it (the key of the run's index set), or nil.
local function run_of(metadata)
  if not metadata then return nil end
  local ok, md = pcall(cjson.decode, metadata)
  if not ok or type(md) ~= 'table' then return nil end
  local r = md['run_id']
  if type(r) == 'string' then return r end
  if type(r) == 'number' and r == math.floor(r) then return string.format('%d', r) end
  return nil
end

-- Does a stored blob list (newline-separated suffixes) hold a value for the
-- channel whose escaped name is `ech`?
local function blob_of(field, ech)
  if not field or field == '' then return nil end
  local p = ech .. ':'
  for suffix in string.gmatch(field, '[^\n]+') do
    if string.sub(suffix, 1, #p) == p then return suffix end
  end
  return nil
end
