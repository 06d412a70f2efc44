#include "store/memory_store.h"

#include <algorithm>

namespace livefeed {

MemoryStore::MemoryStore(MemoryStoreLimits limits, WallClock clock)
    : limits_(limits), ids_(std::move(clock)) {}

AppendResult MemoryStore::Append(ItemDraft draft) {
  std::lock_guard lock(mu_);
  if (channels_.size() >= limits_.max_channels && !channels_.count(draft.channel)) {
    return {StoreStatus::kFull, nullptr};
  }
  const IdClock::Stamp stamp = ids_.Next();
  ItemPtr item = MakeItem(stamp.id, stamp.timestamp_ms, std::move(draft));
  Channel& channel = channels_[item->channel];
  channel.items.push_back(item);
  while (channel.items.size() > limits_.max_items) Evict(channel);
  // Held in `item`, not read back from `channel`: a clock that jumped past max_age since
  // Next() expires the new item too, and the emptied channel is reclaimed.
  if (limits_.max_age_us > 0) EvictExpired(item->channel, channel);
  return {StoreStatus::kOk, item};
}

void MemoryStore::Evict(Channel& channel) {
  channel.evicted_upto = channel.items.front()->id;
  channel.items.pop_front();
}

void MemoryStore::EvictExpired(const std::string& name, Channel& channel) {
  const std::int64_t oldest_kept_ms = (ids_.NowMicros() - limits_.max_age_us) / 1000;
  while (!channel.items.empty() && channel.items.front()->timestamp_ms < oldest_kept_ms) {
    Evict(channel);
  }
  if (channel.items.empty()) {
    // An empty channel is reclaimed so that a flood of one-off names cannot grow memory;
    // what it dropped still counts for the truncation check of every channel.
    reclaimed_upto_ = std::max(reclaimed_upto_, channel.evicted_upto);
    channels_.erase(name);
  }
}

ReadResult MemoryStore::Read(const std::vector<std::string>& channels, std::uint64_t since,
                             std::size_t limit) {
  ReadResult result;
  std::lock_guard lock(mu_);
  result.head = ids_.last();

  // A cursor from before this process began, or beyond anything issued (a previous
  // process whose clock ran ahead), cannot be vouched for: send all that is retained.
  std::uint64_t select_after = since;
  if (since != 0 && (since < ids_.origin() || since > ids_.last())) {
    result.truncated = true;
    select_after = 0;
  }
  if (since != 0 && since < reclaimed_upto_) result.truncated = true;

  for (const std::string& name : channels) {
    auto it = channels_.find(name);
    if (it == channels_.end()) continue;
    if (limits_.max_age_us > 0) {
      Channel& channel = it->second;
      EvictExpired(name, channel);
      it = channels_.find(name);
      if (it == channels_.end()) {
        if (since != 0 && since < reclaimed_upto_) result.truncated = true;
        continue;
      }
    }
    const Channel& channel = it->second;
    if (since != 0 && since < channel.evicted_upto) result.truncated = true;
    auto first =
        std::upper_bound(channel.items.begin(), channel.items.end(), select_after,
                         [](std::uint64_t id, const ItemPtr& item) { return id < item->id; });
    result.items.insert(result.items.end(), first, channel.items.end());
  }
  if (channels.size() > 1) {
    std::sort(result.items.begin(), result.items.end(),
              [](const ItemPtr& a, const ItemPtr& b) { return a->id < b->id; });
  }
  if (result.items.size() > limit) result.items.resize(limit);
  return result;
}

std::uint64_t MemoryStore::Head() {
  std::lock_guard lock(mu_);
  return ids_.last();
}

std::size_t MemoryStore::ChannelCount() {
  std::lock_guard lock(mu_);
  return channels_.size();
}

}  // namespace livefeed
