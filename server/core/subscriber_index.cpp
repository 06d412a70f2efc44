#include "core/subscriber_index.h"

namespace livefeed {

void SubscriberIndex::Add(Id id, const std::vector<std::string>& channels) {
  for (const std::string& channel : channels) by_channel_[channel].insert(id);
}

void SubscriberIndex::Remove(Id id, const std::vector<std::string>& channels) {
  for (const std::string& channel : channels) {
    auto it = by_channel_.find(channel);
    if (it == by_channel_.end()) continue;
    it->second.erase(id);
    // Reclaimed so that subscribers to random channel names leave nothing behind.
    if (it->second.empty()) by_channel_.erase(it);
  }
}

const std::unordered_set<SubscriberIndex::Id>& SubscriberIndex::Of(
    const std::string& channel) const {
  static const std::unordered_set<Id> kNone;
  auto it = by_channel_.find(channel);
  return it == by_channel_.end() ? kNone : it->second;
}

}  // namespace livefeed
