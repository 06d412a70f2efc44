#include "store/redis_codec.h"

#include <charconv>
#include <string_view>
#include <unordered_set>

namespace livefeed {
namespace {

// Reads "<length>:<bytes>" fields one after the other.
class FieldReader {
 public:
  explicit FieldReader(std::string_view text) : rest_(text) {}

  bool Next(std::string_view* field) {
    const std::size_t colon = rest_.find(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    std::size_t length = 0;
    auto [end, error] = std::from_chars(rest_.data(), rest_.data() + colon, length);
    if (error != std::errc() || end != rest_.data() + colon) return false;
    if (length > rest_.size() - colon - 1) return false;
    *field = rest_.substr(colon + 1, length);
    rest_ = rest_.substr(colon + 1 + length);
    return true;
  }
  template <typename Number>
  bool Next(Number* number) {
    std::string_view field;
    if (!Next(&field)) return false;
    auto [end, error] = std::from_chars(field.data(), field.data() + field.size(), *number);
    return error == std::errc() && end == field.data() + field.size();
  }
  bool done() const { return rest_.empty(); }

 private:
  std::string_view rest_;
};

// ts n (id channel type data)*n
bool DecodeItems(FieldReader& reader, std::int64_t* timestamp_ms, std::vector<ItemPtr>* items) {
  std::size_t n = 0;
  if (!reader.Next(timestamp_ms) || !reader.Next(&n)) return false;
  for (std::size_t i = 0; i < n; ++i) {
    std::uint64_t id = 0;
    std::string_view channel, type, data;
    if (!reader.Next(&id) || !reader.Next(&channel) || !reader.Next(&type) || !reader.Next(&data)) {
      return false;
    }
    items->push_back(MakeItem(
        id, *timestamp_ms, ItemDraft{std::string(channel), std::string(type), std::string(data)}));
  }
  return true;
}

// m (channel newest trimmed length evicted)*m
bool DecodeChannels(FieldReader& reader, std::vector<ChannelNews>* channels) {
  std::size_t m = 0;
  if (!reader.Next(&m)) return false;
  for (std::size_t i = 0; i < m; ++i) {
    ChannelNews news;
    std::string_view name;
    if (!reader.Next(&name) || !reader.Next(&news.newest) || !reader.Next(&news.trimmed) ||
        !reader.Next(&news.length) || !reader.Next(&news.evicted)) {
      return false;
    }
    news.channel = std::string(name);
    channels->push_back(std::move(news));
  }
  return true;
}

bool AsNumber(const RedisReply& reply, std::uint64_t* out) {
  if (reply.type == RedisReply::Type::kInteger && reply.integer >= 0) {
    *out = static_cast<std::uint64_t>(reply.integer);
    return true;
  }
  if (reply.type != RedisReply::Type::kString) return false;
  auto [end, error] = std::from_chars(reply.str.data(), reply.str.data() + reply.str.size(), *out);
  return error == std::errc() && end == reply.str.data() + reply.str.size();
}

bool IsArray(const RedisReply& reply, std::size_t min_size) {
  return reply.type == RedisReply::Type::kArray && reply.elements.size() >= min_size;
}

}  // namespace

std::uint64_t News::newest() const {
  std::uint64_t newest = 0;
  for (const ChannelNews& c : channels) newest = std::max(newest, c.newest);
  return newest;
}

std::optional<News> DecodeNews(std::string_view payload) {
  if (payload.empty() || (payload[0] != 'A' && payload[0] != 'L')) return std::nullopt;
  News news;
  news.from_log = payload[0] == 'L';
  FieldReader reader(payload.substr(1));
  if (!reader.Next(&news.seq)) return std::nullopt;
  if (!news.from_log && !DecodeItems(reader, &news.timestamp_ms, &news.items)) return std::nullopt;
  if (!DecodeChannels(reader, &news.channels) || !reader.done()) return std::nullopt;
  return news;
}

RespCommand ScriptArgs::Call(std::string_view verb, std::string_view script) const {
  RespCommand call{verb, script};
  call.Reserve(64 + script.size() + keys.size() + args.size());
  call.Add(std::uint64_t{keys.count()});
  return call.Append(keys).Append(args);
}

ScriptArgs PublishCommand(const RedisKeys& keys, const RedisLimits& limits,
                          const std::vector<const AppendRequest*>& group) {
  std::size_t drafts = 0, bytes = 0;
  std::vector<std::string_view> channels;  // Each once, in the order first met.
  std::unordered_set<std::string_view> met;
  for (const AppendRequest* request : group) {
    drafts += request->drafts.size();
    bytes += request->fingerprint.size();
    for (const ItemDraft& draft : request->drafts) {
      if (met.insert(draft.channel).second) channels.push_back(draft.channel);
      bytes += draft.channel.size() + draft.type.size() + draft.data_json.size();
    }
  }
  ScriptArgs call;
  call.keys = {keys.head, keys.origin, keys.seq, keys.log, keys.channels, keys.log_meta};
  for (std::string_view channel : channels) {
    call.keys.Add(keys.Stream(channel)).Add(keys.Meta(channel));
  }
  for (const AppendRequest* request : group) {
    if (!request->idempotency_key.empty()) {
      call.keys.Add(keys.Idempotency(request->idempotency_key));
    }
  }
  RespCommand& args = call.args;
  // An argument's framing is some 16 bytes at most (a count of drafts, 8 more): one
  // allocation for the whole group.
  args.Reserve(256 + bytes + 24 * (channels.size() + 2 * group.size() + 3 * drafts));
  args.Add(keys.announce)
      .Add(std::uint64_t{limits.max_items})
      .Add(std::uint64_t{limits.max_bytes})
      .Add(limits.max_age_us)
      .Add(std::uint64_t{limits.max_channels})
      .Add(std::max<std::int64_t>(limits.idempotency_window_us / 1000, 1))
      .Add(std::uint64_t{limits.log_entries})
      .Add(std::uint64_t{group.size()})
      .Add(std::uint64_t{drafts})
      .Add(std::uint64_t{channels.size()});
  for (std::string_view channel : channels) args.Add(channel);
  for (const AppendRequest* request : group) {
    const auto n = static_cast<std::int64_t>(request->drafts.size());
    args.Add(request->fingerprint).Add(request->idempotency_key.empty() ? n : -n);
    for (const ItemDraft& draft : request->drafts) {
      args.Add(draft.channel).Add(draft.type).Add(draft.data_json);
    }
  }
  return call;
}

ScriptArgs ReadCommand(const RedisKeys& keys, const RedisLimits& limits,
                       const ReadRequest& request) {
  ScriptArgs call;
  call.keys = {keys.head, keys.origin, keys.reclaimed, keys.channels};
  for (const std::string& channel : request.channels) {
    call.keys.Add(keys.Stream(channel)).Add(keys.Meta(channel));
  }
  call.args.Add(request.since)
      .Add(std::uint64_t{std::min<std::size_t>(request.max_items, 100000)})
      .Add(std::uint64_t{std::min<std::size_t>(request.max_bytes, 1ULL << 40)})
      .Add(limits.max_age_us)
      .Add(std::uint64_t{limits.max_items})
      .Add(std::uint64_t{limits.max_bytes});
  for (const std::string& channel : request.channels) call.args.Add(channel);
  return call;
}

ScriptArgs SyncCommand(const RedisKeys& keys, std::uint64_t after, std::size_t count) {
  ScriptArgs call;
  call.keys = {keys.head, keys.origin, keys.seq, keys.log, keys.log_meta, keys.channels};
  call.args.Add(after).Add(std::uint64_t{count}).Add(keys.prefix);
  return call;
}

std::optional<AppendResult> ParsePublishOutcome(const RedisReply& reply, AppendRequest& request) {
  AppendResult result;
  result.status = StoreStatus::kUnavailable;
  if (!IsArray(reply, 1) || reply.elements[0].type != RedisReply::Type::kString) return result;
  const std::string& outcome = reply.elements[0].str;
  if (outcome == "again") return std::nullopt;
  if (outcome == "conflict") return AppendResult{StoreStatus::kKeyConflict, {}, false};
  if (outcome == "too_large") return AppendResult{StoreStatus::kTooLarge, {}, false};
  if (outcome == "full") return AppendResult{StoreStatus::kFull, {}, false};
  if (outcome == "replay" && reply.elements.size() == 2) {
    FieldReader reader(reply.elements[1].str);
    std::string_view fingerprint;
    std::int64_t timestamp_ms = 0;
    std::vector<ItemPtr> items;
    if (!reader.Next(&fingerprint) || !DecodeItems(reader, &timestamp_ms, &items)) return result;
    return AppendResult{StoreStatus::kOk, std::move(items), true};
  }
  std::uint64_t first = 0, timestamp_ms = 0;
  if (outcome != "ok" || reply.elements.size() != 3 || !AsNumber(reply.elements[1], &first) ||
      !AsNumber(reply.elements[2], &timestamp_ms)) {
    return result;
  }
  result.status = StoreStatus::kOk;
  for (std::size_t i = 0; i < request.drafts.size(); ++i) {
    result.items.push_back(
        MakeItem(first + i, static_cast<std::int64_t>(timestamp_ms), std::move(request.drafts[i])));
  }
  return result;
}

std::optional<RedisReadReply> ParseReadReply(const RedisReply& reply, const ReadRequest& request) {
  if (!IsArray(reply, 2 + request.channels.size())) return std::nullopt;
  RedisReadReply out;
  std::uint64_t truncated = 0;
  if (!AsNumber(reply.elements[0], &out.head) || !AsNumber(reply.elements[1], &truncated)) {
    return std::nullopt;
  }
  out.truncated = truncated != 0;
  for (std::size_t c = 0; c < request.channels.size(); ++c) {
    const RedisReply& channel = reply.elements[2 + c];
    std::uint64_t trimmed = 0, complete = 0, evicted = 0;
    if (!IsArray(channel, 4) || !AsNumber(channel.elements[0], &trimmed) ||
        !AsNumber(channel.elements[1], &complete) || !AsNumber(channel.elements[2], &evicted) ||
        channel.elements[3].type != RedisReply::Type::kArray ||
        channel.elements[3].elements.size() % 4 != 0) {
      return std::nullopt;
    }
    ChannelSlice slice;
    slice.complete = complete != 0;
    const std::vector<RedisReply>& fields = channel.elements[3].elements;
    for (std::size_t i = 0; i < fields.size(); i += 4) {
      std::uint64_t id = 0, timestamp_ms = 0;
      if (!AsNumber(fields[i], &id) || !AsNumber(fields[i + 1], &timestamp_ms)) {
        return std::nullopt;
      }
      slice.items.push_back(
          MakeItem(id, static_cast<std::int64_t>(timestamp_ms),
                   ItemDraft{request.channels[c], fields[i + 2].str, fields[i + 3].str}));
    }
    out.evicted += evicted;
    out.trimmed.push_back(trimmed);
    out.slices.push_back(std::move(slice));
  }
  return out;
}

std::optional<SyncPosition> ParseSyncReply(const RedisReply& reply) {
  SyncPosition out;
  if (!IsArray(reply, 6) || !AsNumber(reply.elements[0], &out.origin) ||
      !AsNumber(reply.elements[1], &out.head) || !AsNumber(reply.elements[2], &out.seq) ||
      !AsNumber(reply.elements[3], &out.log_trimmed) ||
      reply.elements[4].type != RedisReply::Type::kArray ||
      reply.elements[5].type != RedisReply::Type::kArray ||
      reply.elements[5].elements.size() % 4 != 0) {
    return std::nullopt;
  }
  for (const RedisReply& entry : reply.elements[4].elements) {
    std::optional<News> news = DecodeNews(entry.str);
    if (!news || !news->from_log) return std::nullopt;
    out.entries.push_back(std::move(*news));
  }
  const std::vector<RedisReply>& channels = reply.elements[5].elements;
  for (std::size_t i = 0; i < channels.size(); i += 4) {
    ChannelStats stats;
    std::uint64_t items = 0, timestamp = 0;
    if (channels[i].type != RedisReply::Type::kString || !AsNumber(channels[i + 1], &items) ||
        !AsNumber(channels[i + 2], &stats.head) || !AsNumber(channels[i + 3], &timestamp)) {
      return std::nullopt;
    }
    stats.channel = channels[i].str;
    stats.items = static_cast<std::size_t>(items);
    stats.last_publish_ms = static_cast<std::int64_t>(timestamp);
    out.channels.push_back(std::move(stats));
  }
  return out;
}

}  // namespace livefeed
