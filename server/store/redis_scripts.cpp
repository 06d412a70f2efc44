#include "store/redis_scripts.h"

namespace livefeed {

RedisKeys::RedisKeys(std::string p)
    : head(p + "head"),
      origin(p + "origin"),
      seq(p + "seq"),
      log(p + "log"),
      log_meta(p + "log:meta"),
      channels(p + "channels"),
      reclaimed(p + "reclaimed"),
      announce(p + "announce"),
      prefix(std::move(p)) {}

namespace {

// Shared by every script. Lua numbers are doubles: ids (< 2^53) are exact, but they must be
// formatted with %.0f (tostring would print 1.7e+15), and passed to redis.call as strings.
constexpr char kPrelude[] = R"lua(
local MAX_ID = 9007199254740991
local function fmt(n) return string.format('%.0f', n) end
local function put(out, s) out[#out + 1] = #s .. ':' .. s end
local function now_us()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local function entry_id(s) return tonumber(string.match(s, '^(%d+)')) end
-- The head and the origin are made on first use; the origin marks where this data set
-- began, so a cursor from before it (another data set) is known to be truncated.
local function init_head(k_head, k_origin)
  local head = redis.call('GET', k_head)
  if head then return tonumber(head), tonumber(redis.call('GET', k_origin) or '0') end
  local origin = now_us()
  redis.call('SET', k_origin, fmt(origin))
  redis.call('SET', k_head, fmt(origin))
  return origin, origin
end
-- The size of the item's JSON, as MakeItem writes it (names and types need no escaping).
local function json_size(id, ts, ch, ty, d)
  local n = 6 + #fmt(id) + 13 + #fmt(ts) + 12 + #ch + 1 + 8 + #d + 1
  if #ty > 0 then n = n + 10 + #ty end
  return n
end
-- What an item costs a backlog: Item::footprint().
local function footprint(id, ts, ch, ty, d) return json_size(id, ts, ch, ty, d) + #ch + #ty + 160 end
-- The newest id trimmed from a channel (or from the log): cursors below it missed items.
-- Kept by the scripts themselves: Redis 7.0's max-deleted-entry-id counts XDEL, not XTRIM.
local function trimmed_of(k_meta) return tonumber(redis.call('HGET', k_meta, 'trimmed') or '0') end
-- Drops the oldest entries while the channel holds more than max_items entries or
-- max_bytes bytes, or entries older than min_id (0: no age limit). Returns the id of the
-- newest entry dropped (0: none), how many, and the length left.
local function trim(k_stream, k_meta, ch, max_items, max_bytes, min_id)
  local len = redis.call('XLEN', k_stream)
  local bytes = tonumber(redis.call('HGET', k_meta, 'bytes') or '0')
  local dropped, last, after = 0, 0, '-'
  local count = math.max(1, len - max_items)
  while len > 0 and (len > max_items or bytes > max_bytes or min_id > 0) do
    local batch = redis.call('XRANGE', k_stream, after, '+', 'COUNT', fmt(count))
    if #batch == 0 then break end
    local stop = false
    for _, e in ipairs(batch) do
      local id = entry_id(e[1])
      if not (len > max_items or bytes > max_bytes or id < min_id) then
        stop = true
        break
      end
      local f = e[2]
      bytes = bytes - footprint(id, tonumber(f[2]), ch, f[4], f[6])
      len, dropped, last = len - 1, dropped + 1, id
    end
    if stop then break end
    after, count = '(' .. batch[#batch][1], 16
  end
  if dropped > 0 then
    redis.call('XTRIM', k_stream, 'MINID', fmt(last + 1))
    redis.call('HSET', k_meta, 'bytes', fmt(math.max(bytes, 0)), 'trimmed', fmt(last))
  end
  return last, dropped, len
end
)lua";

// KEYS: head, origin, seq, log, channels, idempotency key (head again when none), log meta,
//   then the stream and meta keys of each draft.
// ARGV: announce channel, max_items, max_bytes, max_age_us, max_channels, window_ms,
//   fingerprint, has_key (1/0), log entries, n, then channel, type, data of each draft.
// Returns {'ok', first id, timestamp ms, evicted} | {'replay', record} | {'conflict'} |
//   {'too_large'} | {'full'}.
constexpr char kPublish[] = R"lua(
local n = tonumber(ARGV[10])
if ARGV[8] == '1' then
  local seen = redis.call('GET', KEYS[6])
  if seen then
    local colon = string.find(seen, ':', 1, true)
    local fp = string.sub(seen, colon + 1, colon + tonumber(string.sub(seen, 1, colon - 1)))
    if fp ~= ARGV[7] then return {'conflict'} end
    return {'replay', seen}
  end
end
local now = now_us()
local head = init_head(KEYS[1], KEYS[2])
local first = math.max(now, head + 1)
local last = first + n - 1
if last > MAX_ID then return redis.error_reply('ERR item ids are exhausted (2^53)') end
local ts = math.floor(now / 1000)
local max_items, max_bytes, max_age = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
-- What the publish adds to each channel, all checked before anything is written.
local chans, order = {}, {}
for i = 1, n do
  local ch, ty, d = ARGV[8 + 3 * i], ARGV[9 + 3 * i], ARGV[10 + 3 * i]
  local c = chans[ch]
  if not c then
    c = {count = 0, bytes = 0, ks = KEYS[6 + 2 * i], km = KEYS[7 + 2 * i], newest = 0}
    chans[ch] = c
    order[#order + 1] = ch
  end
  c.count = c.count + 1
  c.bytes = c.bytes + footprint(first + i - 1, ts, ch, ty, d)
end
local fresh = 0
for _, ch in ipairs(order) do
  local c = chans[ch]
  if c.count > max_items or c.bytes > max_bytes then return {'too_large'} end
  if redis.call('SISMEMBER', KEYS[5], ch) == 0 then fresh = fresh + 1 end
end
if fresh > 0 and redis.call('SCARD', KEYS[5]) + fresh > tonumber(ARGV[5]) then
  return {'full'}
end
local items = {}
put(items, fmt(ts))
put(items, fmt(n))
for i = 1, n do
  local ch, ty, d = ARGV[8 + 3 * i], ARGV[9 + 3 * i], ARGV[10 + 3 * i]
  local id = first + i - 1
  redis.call('XADD', chans[ch].ks, fmt(id) .. '-0', 't', fmt(ts), 'y', ty, 'd', d)
  chans[ch].newest = id
  put(items, fmt(id))
  put(items, ch)
  put(items, ty)
  put(items, d)
end
local min_id = 0
if max_age > 0 then min_id = now - max_age end
local news = {}
put(news, fmt(#order))
local evicted = 0
for _, ch in ipairs(order) do
  local c = chans[ch]
  redis.call('HINCRBY', c.km, 'bytes', fmt(c.bytes))
  redis.call('SADD', KEYS[5], ch)
  local trimmed, dropped, len = trim(c.ks, c.km, ch, max_items, max_bytes, min_id)
  evicted = evicted + dropped
  put(news, ch)
  put(news, fmt(c.newest))
  put(news, fmt(trimmed))
  put(news, fmt(len))
  put(news, fmt(dropped))
end
local seq = redis.call('INCR', KEYS[3])
redis.call('SET', KEYS[1], fmt(last))
local item_text, news_text = table.concat(items), table.concat(news)
local seq_field = {}
put(seq_field, fmt(seq))
redis.call('XADD', KEYS[4], fmt(last) .. '-0', 'e', 'L' .. seq_field[1] .. news_text)
-- The log keeps its newest entries; what it trims is remembered, so a node that fell
-- further behind knows it cannot catch up from it.
local excess = redis.call('XLEN', KEYS[4]) - tonumber(ARGV[9])
if excess > 0 then
  local old = redis.call('XRANGE', KEYS[4], '-', '+', 'COUNT', fmt(excess))
  local upto = entry_id(old[#old][1])
  redis.call('XTRIM', KEYS[4], 'MINID', fmt(upto + 1))
  redis.call('HSET', KEYS[7], 'trimmed', fmt(upto))
end
if ARGV[8] == '1' then
  local fp = {}
  put(fp, ARGV[7])
  redis.call('SET', KEYS[6], fp[1] .. item_text, 'PX', ARGV[6], 'NX')
end
redis.call('PUBLISH', ARGV[1], 'A' .. seq_field[1] .. item_text .. news_text)
return {'ok', first, ts, evicted}
)lua";

// KEYS: head, origin, reclaimed, channels, then the stream and meta keys of each channel.
// ARGV: since, max_items, max_bytes (of the reply), max_age_us, backlog max_items,
//   backlog max_bytes, then the channel names.
// Returns {head, truncated, then per channel {trimmed, complete, evicted, {id, ts, type,
//   data, ...}}}: at most max_items + 1 items a channel, cut by bytes, at least one.
constexpr char kRead[] = R"lua(
local since = tonumber(ARGV[1])
local head = tonumber(redis.call('GET', KEYS[1]) or '0')
local origin = tonumber(redis.call('GET', KEYS[2]) or '0')
local reclaimed = tonumber(redis.call('GET', KEYS[3]) or '0')
local truncated, after = 0, since
-- A cursor from another data set, or beyond anything issued: send all that is retained.
if since ~= 0 and (since < origin or since > head) then truncated, after = 1, 0 end
if since ~= 0 and since < reclaimed then truncated = 1 end
local limit, max_bytes, max_age = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local min_id = 0
if max_age > 0 then min_id = now_us() - max_age end
local out = {head, 0}
for j = 1, (#KEYS - 4) / 2 do
  local ks, km, ch = KEYS[3 + 2 * j], KEYS[4 + 2 * j], ARGV[6 + j]
  local trimmed, complete, evicted, entries = 0, 1, 0, {}
  local exists = redis.call('EXISTS', ks) == 1
  if exists and min_id > 0 then
    local _, dropped, len = trim(ks, km, ch, tonumber(ARGV[5]), tonumber(ARGV[6]), min_id)
    evicted = dropped
    if len == 0 then
      -- Every item expired: the channel goes, and what it held counts for every cursor.
      local upto = trimmed_of(km)
      redis.call('DEL', ks, km)
      redis.call('SREM', KEYS[4], ch)
      if upto > reclaimed then
        reclaimed = upto
        redis.call('SET', KEYS[3], fmt(upto))
      end
      if since ~= 0 and since < upto then truncated = 1 end
      exists = false
    end
  end
  if exists then
    trimmed = trimmed_of(km)
    if since ~= 0 and since < trimmed then truncated = 1 end
    local batch = redis.call('XRANGE', ks, '(' .. fmt(after), '+', 'COUNT', fmt(limit + 1))
    local bytes = 0
    for k, e in ipairs(batch) do
      local id, f = entry_id(e[1]), e[2]
      local size = json_size(id, tonumber(f[2]), ch, f[4], f[6])
      if k > limit or (k > 1 and bytes + size > max_bytes) then
        complete = 0
        break
      end
      bytes = bytes + size
      entries[#entries + 1] = fmt(id)
      entries[#entries + 1] = f[2]
      entries[#entries + 1] = f[4]
      entries[#entries + 1] = f[6]
    end
  end
  out[#out + 1] = {trimmed, complete, evicted, entries}
end
out[2] = truncated
return out
)lua";

// KEYS: head, origin, seq, log, log meta. ARGV: after (0: the position only), count.
// Returns {origin, head, seq, log trimmed upto, {entry, ...}}.
constexpr char kSync[] = R"lua(
local head, origin = init_head(KEYS[1], KEYS[2])
local seq = tonumber(redis.call('GET', KEYS[3]) or '0')
local after = tonumber(ARGV[1])
local entries = {}
if after > 0 then
  for _, e in ipairs(redis.call('XRANGE', KEYS[4], '(' .. fmt(after), '+', 'COUNT', ARGV[2])) do
    entries[#entries + 1] = e[2][2]
  end
end
return {origin, head, seq, trimmed_of(KEYS[5]), entries}
)lua";

}  // namespace

const std::string& PublishScript() {
  static const std::string script = std::string(kPrelude) + kPublish;
  return script;
}

const std::string& ReadScript() {
  static const std::string script = std::string(kPrelude) + kRead;
  return script;
}

const std::string& SyncScript() {
  static const std::string script = std::string(kPrelude) + kSync;
  return script;
}

}  // namespace livefeed
