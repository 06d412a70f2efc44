// The Lua scripts that do every change to the Redis data, each atomically, and the names
// of the keys they touch (all under one prefix):
//   <prefix>head       the newest id issued      <prefix>origin     where this data set began
//   <prefix>seq        announcements so far      <prefix>log        stream: what each publish
//   touched <prefix>log:meta   hash: trimmed             <prefix>channels   set of channel names
//   <prefix>reclaimed  the newest id of a channel removed because all its items expired
//   <prefix>s:<name>   stream: a channel's items, entry id "<item id>-0", fields t, y, d
//                      (timestamp, type, data), p (the channel's item before) and c (total)
//   <prefix>m:<name>   hash: the channel's bytes (item footprints), newest trimmed id, total
//                      (footprints ever added), newest id, and mixed (entries without p, c)
//   <prefix>k:<key>    an Idempotency-Key's fingerprint and items, expiring with the window
//   <prefix>announce   the pub/sub channel of announcements and probes
// Plain data; safe to share.
#pragma once

#include <string>
#include <string_view>

namespace livefeed {

struct RedisKeys {
  explicit RedisKeys(std::string prefix);

  std::string head, origin, seq, log, log_meta, channels, reclaimed, announce;
  std::string Stream(std::string_view channel) const { return Join("s:", channel); }
  std::string Meta(std::string_view channel) const { return Join("m:", channel); }
  std::string Idempotency(std::string_view key) const { return Join("k:", key); }

  std::string prefix;

 private:
  std::string Join(std::string_view kind, std::string_view name) const {
    std::string key;
    key.reserve(prefix.size() + kind.size() + name.size());
    return key.append(prefix).append(kind).append(name);
  }
};

// Publish, for a group of publishes: ids max(Redis TIME in µs, head + 1), consecutive over
// the group; append; trim by count, bytes and age; remember each Idempotency-Key; log;
// PUBLISH one announcement of the group's items.
const std::string& PublishScript();
// Read: the items after a cursor on some channels, with what each channel lost to trimming.
const std::string& ReadScript();
// Sync: the cluster's position (origin, head, seq) and the log entries after an id.
const std::string& SyncScript();

}  // namespace livefeed
