// Remembers publishes by the client's Idempotency-Key for a window, so that a publisher
// retrying after a network error gets the first publish's answer instead of a duplicate.
// Bounded: at most `max_keys` keys; the oldest are forgotten first.
// Safe for concurrent use; a keyed publish runs under the cache's lock so two concurrent
// retries with one key cannot both publish.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/item.h"

namespace livefeed {

class IdempotencyCache {
 public:
  using Clock = std::chrono::steady_clock;
  IdempotencyCache(std::chrono::seconds window, std::size_t max_keys);

  struct Outcome {
    ItemPtr item;           // Null when `publish` failed.
    bool replayed = false;  // The key was seen: `item` is the first publish's.
  };
  // Returns the item remembered for `key`, or runs `publish` and remembers its item.
  Outcome PublishOnce(const std::string& key, const std::function<ItemPtr()>& publish,
                      Clock::time_point now = Clock::now());

 private:
  // REQUIRES: mu_ held.
  void Expire(Clock::time_point now);

  const std::chrono::seconds window_;
  const std::size_t max_keys_;
  std::mutex mu_;
  struct Entry {
    ItemPtr item;
    Clock::time_point at;
  };
  std::unordered_map<std::string, Entry> entries_;               // Guarded by mu_.
  std::deque<std::pair<Clock::time_point, std::string>> order_;  // Guarded by mu_.
};

}  // namespace livefeed
