// Keeps each channel's recent items in memory, bounded four ways, the oldest item going
// first in every case:
//   - per channel, at most `max_items` items and `max_bytes` bytes;
//   - when `max_age_us` > 0, no item older than that;
//   - over all channels together, at most `memory_limit` bytes (the globally oldest item
//     is evicted, whatever its channel).
// A reader whose cursor falls before an evicted item is told (`truncated`). Every call
// answers at once: the memory store never uses the completion callbacks.
// Forgets everything on restart; ids still increase across restarts (see IdClock).
// Safe for concurrent use without external synchronization.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "core/id_clock.h"
#include "core/idempotency.h"
#include "core/store.h"

namespace livefeed {

struct MemoryStoreLimits {
  std::size_t max_items = 1000;
  std::size_t max_bytes = std::size_t{64} << 20;    // Per channel (item footprints).
  std::int64_t max_age_us = 0;                      // 0: no age limit.
  std::size_t memory_limit = std::size_t{1} << 30;  // All channels together.
  // Channels holding items at once: a flood of one-off channel names cannot grow memory
  // without bound (channels that run empty are reclaimed).
  std::size_t max_channels = 10000;
  std::int64_t idempotency_window_us = 600'000'000;
  std::size_t idempotency_keys = 100000;
};

class MemoryStore final : public Store {
 public:
  MemoryStore(MemoryStoreLimits limits, WallClock clock);

  std::optional<AppendResult> Append(AppendRequest request, AppendDone done) override;
  bool AppendsAtOnce() const override { return true; }
  std::optional<ReadResult> Read(const ReadRequest& request, ReadDone done) override;
  std::uint64_t Head() override;
  void SetListener(Listener listener) override { listener_ = std::move(listener); }
  StoreHealth Health() override;
  std::vector<ChannelStats> Channels(const std::string& after, std::size_t limit) override;

  // Synchronous forms, for callers (tests) that know the store is in memory.
  AppendResult Append(AppendRequest request);
  ReadResult Read(const ReadRequest& request);

  std::size_t ChannelCount();
  std::size_t RetainedBytes();

 private:
  struct Channel {
    std::deque<ItemPtr> items;
    std::size_t bytes = 0;
    // Id of the newest item dropped from this channel: cursors below it missed something.
    std::uint64_t evicted_upto = 0;
  };
  using Channels_ = std::map<std::string, Channel, std::less<>>;

  // REQUIRES: mu_ held. Each returns the reason to refuse, or kOk.
  StoreStatus CheckRoom(const std::vector<ItemPtr>& items);
  // REQUIRES: mu_ held.
  void Keep(const ItemPtr& item);
  // REQUIRES: mu_ held. Drops the channel's oldest item.
  void EvictOldest(Channels_::iterator channel);
  // REQUIRES: mu_ held. Drops items past max_age; reclaims the channel if it ran empty and
  // returns end() then.
  Channels_::iterator EvictExpired(Channels_::iterator channel);
  // REQUIRES: mu_ held. Forgets an empty channel; what it dropped still counts for the
  // truncation check of every channel.
  void Reclaim(Channels_::iterator channel);

  const MemoryStoreLimits limits_;
  Listener listener_;  // Set before use.
  std::mutex mu_;
  IdClock ids_;                     // Guarded by mu_.
  Channels_ channels_;              // Guarded by mu_.
  IdempotencyCache keys_;           // Guarded by mu_.
  std::size_t retained_bytes_ = 0;  // Guarded by mu_.
  // The oldest item id of every non-empty channel (with its name, the map's own key): the
  // memory limit evicts the first.
  std::set<std::pair<std::uint64_t, const std::string*>> oldest_;  // Guarded by mu_.
  // Newest id dropped from a channel that was then reclaimed because it ran empty.
  std::uint64_t reclaimed_upto_ = 0;  // Guarded by mu_.
  std::atomic<std::uint64_t> evictions_{0};
};

}  // namespace livefeed
