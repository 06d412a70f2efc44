// Which subscribers follow which channel, for one event loop: news of a channel wakes
// exactly that channel's subscribers, and the channel info counts them.
// Not thread-safe: owned and used by one event loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace livefeed {

class SubscriberIndex {
 public:
  using Id = std::uint64_t;

  void Add(Id id, const std::vector<std::string>& channels);
  void Remove(Id id, const std::vector<std::string>& channels);

  // The subscribers of `channel` (empty if none).
  const std::unordered_set<Id>& Of(const std::string& channel) const;
  std::size_t Count(const std::string& channel) const { return Of(channel).size(); }

 private:
  std::unordered_map<std::string, std::unordered_set<Id>> by_channel_;
};

}  // namespace livefeed
