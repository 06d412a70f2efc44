#include "core/idempotency.h"

namespace livefeed {

IdempotencyCache::IdempotencyCache(std::int64_t window_us, std::size_t max_keys)
    : window_us_(window_us), max_keys_(max_keys) {}

void IdempotencyCache::Expire(std::int64_t now_us) {
  while (!order_.empty() &&
         (order_.front().first + window_us_ <= now_us || order_.size() > max_keys_)) {
    auto it = entries_.find(order_.front().second);
    if (it != entries_.end() && it->second.at_us == order_.front().first) entries_.erase(it);
    order_.pop_front();
  }
}

std::optional<IdempotencyCache::Seen> IdempotencyCache::Find(const std::string& key,
                                                             const std::string& fingerprint,
                                                             std::int64_t now_us) {
  Expire(now_us);
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  if (it->second.fingerprint != fingerprint) return Seen{.conflict = true};
  return Seen{.items = it->second.items};
}

void IdempotencyCache::Remember(const std::string& key, const std::string& fingerprint,
                                std::vector<ItemPtr> items, std::int64_t now_us) {
  entries_[key] = Entry{fingerprint, std::move(items), now_us};
  order_.emplace_back(now_us, key);
  Expire(now_us);
}

}  // namespace livefeed
