#include "http/woken_counts.h"

namespace livefeed {

void WokenCounts::Record(const std::string& channel, std::uint64_t newest, std::size_t woken,
                         Clock::time_point now) {
  if (now - turned_ >= kKeep) {
    older_ = std::move(recent_);
    recent_.clear();
    turned_ = now;
  }
  auto it = recent_.find(channel);
  if (it == recent_.end()) {
    // A channel nobody here follows takes no room; Find then counts the subscribers now.
    if (woken == 0) return;
    it = recent_.emplace(channel, Ring{}).first;
  }
  Ring& ring = it->second;
  ring.news[ring.next] = {newest, woken};
  ring.next = (ring.next + 1) % kNews;
  if (ring.count < kNews) ++ring.count;
}

std::optional<std::size_t> WokenCounts::Find(const std::string& channel, std::uint64_t id) const {
  // The older generation first: its news came before any of the recent one's.
  for (const auto* generation : {&older_, &recent_}) {
    auto it = generation->find(channel);
    if (it == generation->end()) continue;
    const Ring& ring = it->second;
    const std::size_t first = (ring.next + kNews - ring.count) % kNews;
    for (std::size_t i = 0; i < ring.count; ++i) {
      const News& news = ring.news[(first + i) % kNews];
      if (news.newest >= id) return news.woken;
    }
  }
  return std::nullopt;
}

}  // namespace livefeed
