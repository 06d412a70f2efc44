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
-- Every number the scripts format is an integer below 2^53, and '%d' (a C long) is several
-- times cheaper than '%.0f'.
local function fmt(n) return string.format('%d', n) end
-- Field lengths repeat: their "<length>:" prefixes are made once per script run.
local prefixes = {}
local function prefix_of(n)
  local prefix = prefixes[n]
  if not prefix then
    prefix = fmt(n) .. ':'
    prefixes[n] = prefix
  end
  return prefix
end
-- A field: "<length>:<bytes>".
local function field(s) return prefix_of(#s) .. s end
local function put(out, s) out[#out + 1] = field(s) end
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
-- `idlen`: the length of its id's decimal text; the timestamp comes as the item carries it.
local function json_size(idlen, ts, ch, ty, d)
  local n = 6 + idlen + 13 + #ts + 12 + #ch + 1 + 8 + #d + 1
  if #ty > 0 then n = n + 10 + #ty end
  return n
end
-- What an item costs a backlog: Item::footprint().
local function cost(idlen, ts, ch, ty, d)
  return json_size(idlen, ts, ch, ty, d) + #ch + #ty + 160
end
-- The newest id trimmed from a channel (or from the log): cursors below it missed items.
-- Kept by the scripts themselves: Redis 7.0's max-deleted-entry-id counts XDEL, not XTRIM.
local function trimmed_of(k_meta) return tonumber(redis.call('HGET', k_meta, 'trimmed') or '0') end
-- Drops the oldest entries while the channel holds more than max_items entries or
-- max_bytes bytes, or entries older than min_id (0: no age limit), reading each one: the way
-- for the byte and age limits, and for entries without the 'p' and 'c' fields (below).
-- `len` and `bytes`: what the channel holds. Returns the id of the newest entry dropped (0:
-- none), how many, and the length and bytes left.
local function trim_scan(k_stream, ch, len, bytes, max_items, max_bytes, min_id)
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
      local f, id_text = e[2], fmt(id)
      bytes = bytes - cost(#id_text, f[2], ch, f[4], f[6])
      len, dropped, last = len - 1, dropped + 1, id
    end
    if stop then break end
    after, count = '(' .. batch[#batch][1], 16
  end
  if dropped > 0 then redis.call('XTRIM', k_stream, 'MINID', fmt(last + 1)) end
  return last, dropped, len, math.max(bytes, 0)
end
-- trim_scan on a channel as its meta hash describes it, which it then updates.
local function trim(k_stream, k_meta, ch, max_items, max_bytes, min_id)
  local len = redis.call('XLEN', k_stream)
  local bytes = tonumber(redis.call('HGET', k_meta, 'bytes') or '0')
  local last, dropped
  last, dropped, len, bytes = trim_scan(k_stream, ch, len, bytes, max_items, max_bytes, min_id)
  if dropped > 0 then redis.call('HSET', k_meta, 'bytes', fmt(bytes), 'trimmed', fmt(last)) end
  return last, dropped, len
end
)lua";

// A group of publishes, each as if published alone and in order (a group commit: the
// publishes the store's thread has at hand share one call). Each gets its own outcome;
// those admitted share the ids' clock reading, one log entry and one announcement, as one
// publish of all their items would.
// Each channel and each key is passed once per call: per-argument work is a large part of
// a call's cost inside Redis.
// KEYS: head, origin, seq, log, channels, log meta, then the stream and meta keys of each of
//   the group's channels, then the Idempotency-Key's key of each publish that has one.
// ARGV: announce channel, max_items, max_bytes, max_age_us, max_channels, window_ms,
//   log entries, the number of publishes, the number of drafts in all, the number of
//   channels, the channels' names (in the order of their keys), then for each publish:
//   its fingerprint, n (negated when it has an Idempotency-Key), then channel, type, data
//   of each of its n drafts.
// Returns one reply per publish, in order: {'ok', first id, timestamp ms} |
//   {'replay', record} | {'conflict'} | {'too_large'} | {'full'} | {'again'}. 'again': not
//   done, and neither is any publish after it; it would have made the group trim its own
//   items from a channel, so it goes in the next call.
constexpr char kPublish[] = R"lua(
local max_items, max_bytes, max_age = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local now = now_us()
-- The origin is read only where it is made (the first publish ever).
local head = tonumber(redis.call('GET', KEYS[1]) or '0')
if head == 0 then head = init_head(KEYS[1], KEYS[2]) end
local next_id = math.max(now, head + 1)
if next_id + tonumber(ARGV[9]) - 1 > MAX_ID then
  return redis.error_reply('ERR item ids are exhausted (2^53)')
end
local ts = math.floor(now / 1000)
local ts_text = fmt(ts)
-- The channels the admitted publishes add to, each with what it held before the call (len0,
-- bytes0), the running total of what was ever added to it, its newest id, and what the call
-- added (count, bytes).
local chans, order = {}, {}
local items, admitted = {}, 0
-- A channel's state, read on first use. Entries carry 'p', the channel's entry before them,
-- and 'c', the channel's total before them, so that a trim by count reads one entry: the
-- first one kept. A channel written before entries carried them ('mixed': its newest then)
-- is trimmed by reading each entry until those are gone.
local function open_channel(ch, ks, km, fresh)
  if fresh then redis.call('SADD', KEYS[5], ch) end
  local m = redis.call('HMGET', km, 'bytes', 'total', 'newest', 'mixed')
  local c = {ks = ks, km = km, count = 0, bytes = 0, len0 = redis.call('XLEN', ks),
             bytes0 = tonumber(m[1] or '0'), total = tonumber(m[2] or '0'),
             newest_text = m[3] or '0', mixed = tonumber(m[4] or '0')}
  if not m[2] and c.len0 > 0 then
    c.newest_text = fmt(entry_id(redis.call('XREVRANGE', ks, '+', '-', 'COUNT', '1')[1][1]))
    c.mixed = tonumber(c.newest_text)
  end
  chans[ch] = c
  order[#order + 1] = ch
  return c
end
local replies, stopped, id_texts, costs = {}, false, {}, {}
-- The group's channels, each named once, with its stream and meta keys.
local n_chans = tonumber(ARGV[10])
local chan_keys = {}
for j = 1, n_chans do chan_keys[ARGV[10 + j]] = 5 + 2 * j end
-- What the publish being checked adds to each of its channels (cleared as it is checked),
-- and the channels this call found missing from the channel set.
local share_count, share_bytes, fresh_of = {}, {}, {}
-- A publish's outcome when it is not admitted, or nil. Its drafts' channels are ARGV[at],
-- ARGV[at + 3], ...; REQUIRES: costs[] filled.
local function refusal(at, n)
  for i = 1, n do
    local ch = ARGV[at + 3 * i - 3]
    share_count[ch] = (share_count[ch] or 0) + 1
    share_bytes[ch] = (share_bytes[ch] or 0) + costs[i]
  end
  local out, fresh = nil, 0
  for i = 1, n do
    local ch = ARGV[at + 3 * i - 3]
    local count, bytes = share_count[ch], share_bytes[ch]
    if count then  -- The channel's first draft in the publish: its whole share is checked.
      share_count[ch], share_bytes[ch] = nil, nil
      local c = chans[ch]
      if out then  -- Refused already: the rest is only cleared.
      elseif count > max_items or bytes > max_bytes then out = {'too_large'}
      elseif c then
        if c.count + count > max_items or c.bytes + bytes > max_bytes then out = {'again'} end
      elseif fresh_of[ch] or redis.call('SISMEMBER', KEYS[5], ch) == 0 then
        fresh_of[ch] = true
        fresh = fresh + 1
      end
    end
  end
  if not out and fresh > 0 and redis.call('SCARD', KEYS[5]) + fresh > tonumber(ARGV[5]) then
    out = {'full'}
  end
  return out
end
local a, k = 11 + n_chans, 7 + 2 * n_chans  -- The next publish's arguments; its Idempotency key.
for q = 1, tonumber(ARGV[8]) do
  local fp, n = ARGV[a], tonumber(ARGV[a + 1])
  local key
  if n < 0 then n, key, k = -n, KEYS[k], k + 1 end
  local reply
  if stopped then reply = {'again'} end
  if not reply and key then
    local seen = redis.call('GET', key)
    if seen then
      local colon = string.find(seen, ':', 1, true)
      local seen_fp = string.sub(seen, colon + 1, colon + tonumber(string.sub(seen, 1, colon - 1)))
      reply = seen_fp == fp and {'replay', seen} or {'conflict'}
    end
  end
  if not reply then
    for i = 1, n do
      id_texts[i] = fmt(next_id + i - 1)
      costs[i] = cost(#id_texts[i], ts_text, ARGV[a - 1 + 3 * i], ARGV[a + 3 * i], ARGV[a + 1 + 3 * i])
    end
    reply = refusal(a + 2, n)
    if reply and reply[1] == 'again' then stopped = true end
  end
  if not reply then
    -- The Idempotency-Key's record: the publish's items, as the announcement has them.
    local mine = key and {field(ts_text) .. field(fmt(n))}
    for i = 1, n do
      local ch, ty, d = ARGV[a - 1 + 3 * i], ARGV[a + 3 * i], ARGV[a + 1 + 3 * i]
      local c, id_text = chans[ch], id_texts[i]
      if not c then
        local kc = chan_keys[ch]
        c = open_channel(ch, KEYS[kc], KEYS[kc + 1], fresh_of[ch])
      end
      redis.call('XADD', c.ks, id_text .. '-0', 't', ts_text, 'y', ty, 'd', d, 'p',
                 c.newest_text, 'c', fmt(c.total))
      c.total, c.newest_text = c.total + costs[i], id_text
      c.count, c.bytes, c.newest = c.count + 1, c.bytes + costs[i], next_id + i - 1
      -- The item's fields, encoded once for the record and the announcement, in one
      -- concatenation (field() would make a string of each).
      local item = prefix_of(#id_text) .. id_text .. prefix_of(#ch) .. ch .. prefix_of(#ty) ..
                   ty .. prefix_of(#d) .. d
      if mine then mine[#mine + 1] = item end
      items[#items + 1] = item
    end
    if key then redis.call('SET', key, field(fp) .. table.concat(mine), 'PX', ARGV[6], 'NX') end
    reply = {'ok', next_id, ts}
    next_id, admitted = next_id + n, admitted + n
  end
  replies[q] = reply
  a = a + 2 + 3 * n
end
if admitted == 0 then return replies end
local last = next_id - 1
local min_id = 0
if max_age > 0 then min_id = now - max_age end
local news = {}
put(news, fmt(#order))
for _, ch in ipairs(order) do
  local c = chans[ch]
  local len, bytes, trimmed, dropped = c.len0 + c.count, c.bytes0 + c.bytes, 0, 0
  if len > max_items and c.mixed == 0 then
    -- By count: the entry kept first knows the newest one dropped and the bytes before it.
    dropped = redis.call('XTRIM', c.ks, 'MAXLEN', fmt(max_items))
    local first = redis.call('XRANGE', c.ks, '-', '+', 'COUNT', '1')[1]
    local p, before = first[2][8], first[2][10]
    len = len - dropped
    if before then
      trimmed, bytes = tonumber(p), c.total - tonumber(before)
    else
      -- Written without the fields after all (by an older node): the cursors just before
      -- it count as truncated, and the channel is trimmed the reading way from now on.
      trimmed, c.mixed = entry_id(first[1]) - 1, tonumber(c.newest_text)
    end
  end
  if len > max_items or bytes > max_bytes or min_id > 0 then
    local t, d
    t, d, len, bytes = trim_scan(c.ks, ch, len, bytes, max_items, max_bytes, min_id)
    if d > 0 then trimmed, dropped = t, dropped + d end
  end
  local meta = {'bytes', fmt(bytes), 'total', fmt(c.total), 'newest', c.newest_text}
  if dropped > 0 then
    meta[#meta + 1], meta[#meta + 2] = 'trimmed', fmt(trimmed)
    if c.mixed > 0 and trimmed >= c.mixed then c.mixed = 0 end
  end
  meta[#meta + 1], meta[#meta + 2] = 'mixed', fmt(c.mixed)
  redis.call('HSET', c.km, unpack(meta))
  put(news, ch)
  put(news, fmt(c.newest))
  put(news, fmt(trimmed))
  put(news, fmt(len))
  put(news, fmt(dropped))
end
local seq = redis.call('INCR', KEYS[3])
redis.call('SET', KEYS[1], fmt(last))
local item_text = field(ts_text) .. field(fmt(admitted)) .. table.concat(items)
local news_text, seq_field = table.concat(news), field(fmt(seq))
redis.call('XADD', KEYS[4], fmt(last) .. '-0', 'e', 'L' .. seq_field .. news_text)
-- The log keeps its newest entries; what it trims is remembered, so a node that fell
-- further behind knows it cannot catch up from it. It is trimmed once it holds a step of
-- 1/1024 of them too many (at least one): one trim every hundred calls rather than a
-- range read and a trim in every one.
local keep = tonumber(ARGV[7])
local excess = redis.call('XLEN', KEYS[4]) - keep
if excess >= math.max(1, math.ceil(keep / 1024)) then
  local old = redis.call('XRANGE', KEYS[4], '-', '+', 'COUNT', fmt(excess))
  local upto = entry_id(old[#old][1])
  redis.call('XTRIM', KEYS[4], 'MINID', fmt(upto + 1))
  redis.call('HSET', KEYS[6], 'trimmed', fmt(upto))
end
redis.call('PUBLISH', ARGV[1], 'A' .. seq_field .. item_text .. news_text)
return replies
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
      local f, id = e[2], fmt(entry_id(e[1]))
      local size = json_size(#id, f[2], ch, f[4], f[6])
      if k > limit or (k > 1 and bytes + size > max_bytes) then
        complete = 0
        break
      end
      bytes = bytes + size
      entries[#entries + 1] = id
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

// KEYS: head, origin, seq, log, log meta, channels. ARGV: after (0: the position only),
//   count, the key prefix.
// Returns {origin, head, seq, log trimmed upto, {entry, ...}, {channel, items, newest id,
//   its timestamp ms, ...}}. The channels come with the position only (a node's first
//   sync): a node started after them learns of the channels published before it. Their
//   stream keys are made from the prefix, as RedisKeys::Stream does.
constexpr char kSync[] = R"lua(
local head, origin = init_head(KEYS[1], KEYS[2])
local seq = tonumber(redis.call('GET', KEYS[3]) or '0')
local after = tonumber(ARGV[1])
local entries, channels = {}, {}
if after > 0 then
  for _, e in ipairs(redis.call('XRANGE', KEYS[4], '(' .. fmt(after), '+', 'COUNT', ARGV[2])) do
    entries[#entries + 1] = e[2][2]
  end
else
  for _, ch in ipairs(redis.call('SMEMBERS', KEYS[6])) do
    local ks = ARGV[3] .. 's:' .. ch
    local newest = redis.call('XREVRANGE', ks, '+', '-', 'COUNT', '1')
    if #newest > 0 then
      channels[#channels + 1] = ch
      channels[#channels + 1] = redis.call('XLEN', ks)
      channels[#channels + 1] = entry_id(newest[1][1])
      channels[#channels + 1] = tonumber(newest[1][2][2])
    end
  end
end
return {origin, head, seq, trimmed_of(KEYS[5]), entries, channels}
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
