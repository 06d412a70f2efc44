#include "core/idempotency.h"

namespace livefeed {

IdempotencyCache::IdempotencyCache(std::chrono::seconds window, std::size_t max_keys)
    : window_(window), max_keys_(max_keys) {}

void IdempotencyCache::Expire(Clock::time_point now) {
  while (!order_.empty() && (order_.front().first + window_ <= now || order_.size() > max_keys_)) {
    auto it = entries_.find(order_.front().second);
    if (it != entries_.end() && it->second.at == order_.front().first) entries_.erase(it);
    order_.pop_front();
  }
}

IdempotencyCache::Outcome IdempotencyCache::PublishOnce(const std::string& key,
                                                        const std::function<ItemPtr()>& publish,
                                                        Clock::time_point now) {
  std::lock_guard lock(mu_);
  Expire(now);
  if (auto it = entries_.find(key); it != entries_.end()) return {it->second.item, true};
  ItemPtr item = publish();
  // A failed publish is not remembered: the retry should try again.
  if (!item) return {nullptr, false};
  entries_[key] = Entry{item, now};
  order_.emplace_back(now, key);
  Expire(now);
  return {item, false};
}

}  // namespace livefeed
