// Keeps each channel's recent items in memory: at most `max_items` per channel and,
// when `max_age_us` > 0, none older than that. The oldest item goes first.
// Forgets everything on restart; ids still increase across restarts (see IdClock).
// Safe for concurrent use without external synchronization.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/id_clock.h"
#include "core/store.h"

namespace livefeed {

struct MemoryStoreLimits {
  std::size_t max_items = 1000;
  std::int64_t max_age_us = 0;  // 0: no age limit.
  // Channels holding items at once: a flood of one-off channel names cannot grow memory
  // without bound (channels that run empty by age are reclaimed).
  std::size_t max_channels = 10000;
};

class MemoryStore : public Store {
 public:
  MemoryStore(MemoryStoreLimits limits, WallClock clock);

  AppendResult Append(ItemDraft draft) override;
  ReadResult Read(const std::vector<std::string>& channels, std::uint64_t since,
                  std::size_t limit) override;
  std::uint64_t Head() override;

  std::size_t ChannelCount();

 private:
  struct Channel {
    std::deque<ItemPtr> items;
    // Id of the newest item dropped from this channel: cursors below it missed something.
    std::uint64_t evicted_upto = 0;
  };

  // REQUIRES: mu_ held.
  void EvictExpired(const std::string& name, Channel& channel);
  // REQUIRES: mu_ held.
  void Evict(Channel& channel);

  const MemoryStoreLimits limits_;
  std::mutex mu_;
  IdClock ids_;                                        // Guarded by mu_.
  std::unordered_map<std::string, Channel> channels_;  // Guarded by mu_.
  // Newest id dropped from a channel that was then reclaimed because it ran empty.
  std::uint64_t reclaimed_upto_ = 0;  // Guarded by mu_.
};

}  // namespace livefeed
