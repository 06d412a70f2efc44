// The commands the Redis store sends and what it makes of the replies: the arguments of
// the three scripts (redis_scripts.h) and the payloads they write. A payload is a run of
// fields, each "<length>:<bytes>", so that item data needs no escaping:
//   announcement  'A' seq ts n (id channel type data)*n  m (channel newest trimmed length
//   evicted)*m log entry     'L' seq m (channel newest trimmed length evicted)*m key record
//   fingerprint ts n (id channel type data)*n
// Pure functions: no I/O, thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/store.h"
#include "store/read_merge.h"
#include "store/redis_connection.h"
#include "store/redis_scripts.h"
#include "store/resp_command.h"

namespace livefeed {

// What one publish did to one channel.
struct ChannelNews {
  std::string channel;
  std::uint64_t newest = 0;   // Its newest item id.
  std::uint64_t trimmed = 0;  // The newest id trimmed away by this publish (0: none).
  std::uint64_t length = 0;   // Items kept after it.
  std::uint64_t evicted = 0;  // Items it trimmed.
};

// An announcement ('A', with the items) or a log entry ('L', without).
struct News {
  bool from_log = false;
  std::uint64_t seq = 0;
  std::int64_t timestamp_ms = 0;
  std::vector<ItemPtr> items;  // Id order; empty for a log entry.
  std::vector<ChannelNews> channels;
  std::uint64_t newest() const;  // The publish's last id.
};

std::optional<News> DecodeNews(std::string_view payload);

// The limits the scripts apply.
struct RedisLimits {
  std::size_t max_items = 1000;
  std::size_t max_bytes = std::size_t{64} << 20;
  std::int64_t max_age_us = 0;
  std::size_t max_channels = 10000;
  std::int64_t idempotency_window_us = 600'000'000;
  std::size_t log_entries = 100000;
};

// A script call's keys and arguments. Call() is the whole command, `verb` (EVALSHA or EVAL)
// and `script` (its sha or text) first, then numkeys, taken from the keys themselves.
struct ScriptArgs {
  RespCommand keys;
  RespCommand args;

  RespCommand Call(std::string_view verb, std::string_view script) const;
};

// A publish command carries a group of publishes (see PublishScript).
ScriptArgs PublishCommand(const RedisKeys& keys, const RedisLimits& limits,
                          const std::vector<const AppendRequest*>& group);
ScriptArgs ReadCommand(const RedisKeys& keys, const RedisLimits& limits,
                       const ReadRequest& request);
ScriptArgs SyncCommand(const RedisKeys& keys, std::uint64_t after, std::size_t count);

// One publish's outcome in the publish script's reply (its drafts move into the items);
// kUnavailable for anything unexpected, nullopt for 'again' (to be sent in the next group).
std::optional<AppendResult> ParsePublishOutcome(const RedisReply& reply, AppendRequest& request);

struct RedisReadReply {
  std::uint64_t head = 0;
  bool truncated = false;
  std::uint64_t evicted = 0;
  std::vector<ChannelSlice> slices;  // One per requested channel, in request order.
  std::vector<std::uint64_t> trimmed;
};
std::optional<RedisReadReply> ParseReadReply(const RedisReply& reply, const ReadRequest& request);

struct SyncPosition {
  std::uint64_t origin = 0, head = 0, seq = 0;
  std::uint64_t log_trimmed = 0;  // Log entries up to this id are gone.
  std::vector<News> entries;
  std::vector<ChannelStats> channels;  // With the position only (`after` 0): what Redis holds.
};
std::optional<SyncPosition> ParseSyncReply(const RedisReply& reply);

}  // namespace livefeed
