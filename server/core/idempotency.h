// Remembers publishes by the client's Idempotency-Key for a window, so that a publisher
// retrying after a network error gets the first publish's answer instead of a duplicate,
// and one reusing a key for a different request is told so instead of silently losing it.
// Bounded: at most `max_keys` keys; the oldest are forgotten first.
// Not thread-safe: a store calls it under its own lock, together with the append it guards.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/item.h"

namespace livefeed {

class IdempotencyCache {
 public:
  // Times are microseconds on the store's wall clock.
  IdempotencyCache(std::int64_t window_us, std::size_t max_keys);

  struct Seen {
    bool conflict = false;       // The key was used for a request with another fingerprint.
    std::vector<ItemPtr> items;  // Otherwise the first publish's items.
  };
  // What the key stands for, or nullopt when it is unknown (or expired).
  std::optional<Seen> Find(const std::string& key, const std::string& fingerprint,
                           std::int64_t now_us);

  // Remembers a publish that succeeded (a failed one is not remembered: its retry should try
  // again).
  void Remember(const std::string& key, const std::string& fingerprint, std::vector<ItemPtr> items,
                std::int64_t now_us);

 private:
  void Expire(std::int64_t now_us);

  struct Entry {
    std::string fingerprint;
    std::vector<ItemPtr> items;
    std::int64_t at_us = 0;
  };
  const std::int64_t window_us_;
  const std::size_t max_keys_;
  std::unordered_map<std::string, Entry> entries_;
  std::deque<std::pair<std::int64_t, std::string>> order_;  // Oldest first.
};

}  // namespace livefeed
