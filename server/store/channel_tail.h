// The recent tail of the channels a node reads, kept in memory so that waking subscribers
// read at memory speed instead of asking Redis. A channel's tail holds every item Redis
// retains with an id in (from, head], where head is the newest id whose announcement the
// node has applied in order; a read it cannot vouch for that way goes to Redis instead.
//   1. A Redis read fills it (Fill): the channel starts at the read's cursor.
//   2. In-order announcements extend it (Append) and mirror Redis's trimming.
//   3. A missed announcement drops the channels it touched (Drop), or all of them (Clear).
// Bounded per channel like the backlog, over all channels by bytes and count (the least
// recently read channel goes first). Not thread-safe: the Redis store guards it.
#pragma once

#include <cstdint>
#include <deque>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/store.h"

namespace livefeed {

struct TailLimits {
  std::size_t max_items = 1000;                       // Per channel: the backlog's count.
  std::size_t max_bytes = std::size_t{64} << 20;      // Per channel: the backlog's bytes.
  std::int64_t max_age_us = 0;                        // 0: no age limit.
  std::size_t memory_limit = std::size_t{256} << 20;  // All channels together.
  std::size_t max_channels = 10000;
};

class ChannelTail {
 public:
  explicit ChannelTail(TailLimits limits) : limits_(limits) {}

  // The answer from memory, or nullopt when the tail cannot vouch for it. `head` is the
  // newest id applied in order and `origin` where the Redis data began.
  std::optional<ReadResult> Read(const ReadRequest& request, std::uint64_t head,
                                 std::uint64_t origin, std::int64_t now_us);

  // Items of a channel from an announcement applied in order (ignored when the channel is
  // not kept); `trimmed` is the newest id Redis trimmed away (0: none).
  void Append(const std::string& channel, const std::vector<ItemPtr>& items, std::uint64_t trimmed,
              std::int64_t now_us);

  // What a Redis read found: every retained item of the channel in (since, upto], with the
  // newest id Redis ever trimmed from it. Kept only if it joins the announcements already
  // applied (upto >= head), so the tail never has a hole.
  void Fill(const std::string& channel, std::uint64_t since, const std::vector<ItemPtr>& items,
            std::uint64_t trimmed, std::uint64_t upto, std::uint64_t head, std::int64_t now_us);

  void Drop(const std::string& channel);
  // Forgets every channel; returns their names.
  std::vector<std::string> Clear();
  // Forgets channels nobody read since `before_us`.
  void DropIdle(std::int64_t before_us);

  std::size_t channel_count() const { return channels_.size(); }
  std::size_t bytes() const { return bytes_; }
  bool Holds(const std::string& channel) const { return channels_.count(channel) != 0; }

 private:
  struct Channel {
    std::deque<ItemPtr> items;
    std::size_t bytes = 0;
    std::uint64_t from = 0;     // Every retained item in (from, head] is held.
    std::uint64_t trimmed = 0;  // Redis retains no item of the channel up to this id.
    std::uint64_t upto = 0;     // The newest id applied (announcements up to it are known).
    std::int64_t last_read_us = 0;
    std::list<std::string>::iterator lru;
  };
  using Map = std::unordered_map<std::string, Channel>;

  // Whether the channel's tail can answer items after `since`.
  static bool Covers(const Channel& channel, std::uint64_t since);
  void Touch(Map::iterator it, std::int64_t now_us);
  void PopFront(Channel& channel);
  // Drops what Redis trimmed, what has expired, and what the channel's bounds refuse.
  void Bound(Channel& channel, std::int64_t now_us);
  // Forgets least recently read channels (never `keep`) until within the memory bounds.
  void Shrink(const std::string& keep);
  void Erase(Map::iterator it);

  const TailLimits limits_;
  Map channels_;
  std::list<std::string> lru_;  // Most recently read first.
  std::size_t bytes_ = 0;
};

}  // namespace livefeed
