#include "store/channel_tail.h"

#include <algorithm>

#include "store/read_merge.h"

namespace livefeed {

bool ChannelTail::Covers(const Channel& channel, std::uint64_t since) {
  // Holding everything Redis retains answers any cursor, 0 ("all of it") included.
  const bool whole = channel.from <= channel.trimmed;
  return whole || (since != 0 && since >= channel.from);
}

std::optional<ReadResult> ChannelTail::Read(const ReadRequest& request, std::uint64_t head,
                                            std::uint64_t origin, std::int64_t now_us) {
  const std::uint64_t since = request.since;
  // Beyond what this node knows, or from before this data set: Redis decides.
  if (since > head || (since != 0 && since < origin)) return std::nullopt;
  std::vector<Map::iterator> found;
  found.reserve(request.channels.size());
  for (const std::string& name : request.channels) {
    auto it = channels_.find(name);
    if (it == channels_.end()) return std::nullopt;
    Bound(it->second, now_us);
    if (!Covers(it->second, since)) return std::nullopt;
    found.push_back(it);
  }
  ReadResult result;
  result.head = head;
  std::vector<ChannelSlice> slices(found.size());
  for (std::size_t i = 0; i < found.size(); ++i) {
    const Channel& channel = found[i]->second;
    if (since != 0 && since < channel.trimmed) result.truncated = true;
    auto first =
        std::upper_bound(channel.items.begin(), channel.items.end(), since,
                         [](std::uint64_t id, const ItemPtr& item) { return id < item->id; });
    slices[i].items.assign(first, channel.items.end());
    Touch(found[i], now_us);
  }
  MergeSlices(slices, request, head, &result);
  return result;
}

void ChannelTail::Append(const std::string& name, const std::vector<ItemPtr>& items,
                         std::uint64_t trimmed, std::int64_t now_us) {
  auto it = channels_.find(name);
  if (it == channels_.end()) return;
  Channel& channel = it->second;
  for (const ItemPtr& item : items) {
    // Already there when a Redis read brought it before its announcement came.
    if (item->id <= channel.upto) continue;
    channel.items.push_back(item);
    channel.bytes += item->footprint();
    bytes_ += item->footprint();
    channel.upto = item->id;
  }
  channel.trimmed = std::max(channel.trimmed, trimmed);
  Bound(channel, now_us);
  Shrink(name);
}

void ChannelTail::Fill(const std::string& name, std::uint64_t since,
                       const std::vector<ItemPtr>& items, std::uint64_t trimmed, std::uint64_t upto,
                       std::uint64_t head, std::int64_t now_us) {
  if (upto < head) return;  // Announcements already applied went past the read: a hole.
  auto [it, fresh] = channels_.try_emplace(name);
  Channel& channel = it->second;
  if (fresh) {
    lru_.push_front(name);
    channel.lru = lru_.begin();
    channel.from = since;
    channel.upto = since;
    channel.last_read_us = now_us;
  } else if (since < channel.from && upto >= channel.from) {
    // The read reaches back further than the tail: put its older items in front.
    for (auto item = items.rbegin(); item != items.rend(); ++item) {
      if ((*item)->id > channel.from || (*item)->id <= since) continue;
      channel.items.push_front(*item);
      channel.bytes += (*item)->footprint();
      bytes_ += (*item)->footprint();
    }
    channel.from = since;
  } else {
    return;
  }
  // The read holds every item in (since, upto]: those past the tail's end go after it. Their
  // announcements may still be on their way, and Append skips what is held by then.
  for (const ItemPtr& item : items) {
    if (item->id <= channel.upto) continue;
    if (item->id > upto) break;
    channel.items.push_back(item);
    channel.bytes += item->footprint();
    bytes_ += item->footprint();
  }
  channel.upto = std::max(channel.upto, upto);
  channel.trimmed = std::max(channel.trimmed, trimmed);
  Bound(channel, now_us);
  Shrink(name);
}

void ChannelTail::PopFront(Channel& channel) {
  channel.bytes -= channel.items.front()->footprint();
  bytes_ -= channel.items.front()->footprint();
  channel.items.pop_front();
}

void ChannelTail::Bound(Channel& channel, std::int64_t now_us) {
  // Mirrors Redis's trimming: those items are gone for every reader.
  while (!channel.items.empty() && channel.items.front()->id <= channel.trimmed) {
    PopFront(channel);
  }
  // Expired by age: gone as they are in Redis (ids are Redis time in µs, or just above).
  if (limits_.max_age_us > 0) {
    const std::int64_t oldest_kept = now_us - limits_.max_age_us;
    while (!channel.items.empty() &&
           static_cast<std::int64_t>(channel.items.front()->id) < oldest_kept) {
      channel.trimmed = std::max(channel.trimmed, channel.items.front()->id);
      PopFront(channel);
    }
  }
  // The tail's own bounds: what it drops Redis may still hold, so cursors before it go to
  // Redis.
  while (!channel.items.empty() &&
         (channel.items.size() > limits_.max_items || channel.bytes > limits_.max_bytes)) {
    channel.from = std::max(channel.from, channel.items.front()->id);
    PopFront(channel);
  }
}

void ChannelTail::Touch(Map::iterator it, std::int64_t now_us) {
  it->second.last_read_us = now_us;
  lru_.splice(lru_.begin(), lru_, it->second.lru);
}

void ChannelTail::Shrink(const std::string& keep) {
  while ((bytes_ > limits_.memory_limit || channels_.size() > limits_.max_channels) &&
         lru_.size() > 1) {
    auto victim = std::prev(lru_.end());
    if (*victim == keep) victim = std::prev(victim);
    Erase(channels_.find(*victim));
  }
}

void ChannelTail::Erase(Map::iterator it) {
  bytes_ -= it->second.bytes;
  lru_.erase(it->second.lru);
  channels_.erase(it);
}

void ChannelTail::Drop(const std::string& name) {
  auto it = channels_.find(name);
  if (it != channels_.end()) Erase(it);
}

std::vector<std::string> ChannelTail::Clear() {
  std::vector<std::string> names(lru_.begin(), lru_.end());
  channels_.clear();
  lru_.clear();
  bytes_ = 0;
  return names;
}

void ChannelTail::DropIdle(std::int64_t before_us) {
  while (!lru_.empty()) {
    auto it = channels_.find(lru_.back());
    if (it->second.last_read_us >= before_us) break;
    Erase(it);
  }
}

}  // namespace livefeed
