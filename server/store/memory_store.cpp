#include "store/memory_store.h"

#include <algorithm>

namespace livefeed {
namespace {

std::uint64_t FrontId(const std::deque<ItemPtr>& items) { return items.front()->id; }

}  // namespace

MemoryStore::MemoryStore(MemoryStoreLimits limits, WallClock clock)
    : limits_(limits),
      ids_(std::move(clock)),
      keys_(limits.idempotency_window_us, limits.idempotency_keys) {}

std::optional<AppendResult> MemoryStore::Append(AppendRequest request, AppendDone) {
  return Append(std::move(request));
}

std::optional<ReadResult> MemoryStore::Read(const ReadRequest& request, ReadDone) {
  return Read(request);
}

AppendResult MemoryStore::Append(AppendRequest request) {
  AppendResult result;
  {
    std::lock_guard lock(mu_);
    const std::int64_t now_us = ids_.NowMicros();
    if (!request.idempotency_key.empty()) {
      if (auto seen = keys_.Find(request.idempotency_key, request.fingerprint, now_us)) {
        if (seen->conflict) return {StoreStatus::kKeyConflict, {}, false};
        return {StoreStatus::kOk, std::move(seen->items), true};
      }
    }
    const IdClock::Stamp stamp = ids_.Next(request.drafts.size(), now_us);
    result.items.reserve(request.drafts.size());
    for (std::size_t i = 0; i < request.drafts.size(); ++i) {
      result.items.push_back(
          MakeItem(stamp.id + i, stamp.timestamp_ms, std::move(request.drafts[i])));
    }
    // All or nothing: the ids taken stay unused (ids may have gaps, never repeats).
    result.status = CheckRoom(result.items);
    if (result.status != StoreStatus::kOk) {
      result.items.clear();
      return result;
    }
    for (const ItemPtr& item : result.items) Keep(item);
    if (!request.idempotency_key.empty()) {
      keys_.Remember(request.idempotency_key, request.fingerprint, result.items, now_us);
    }
  }
  // Outside the lock: the listener wakes subscribers, who read the store.
  if (listener_) {
    for (std::size_t i = 0; i < result.items.size(); ++i) {
      const ItemPtr& item = result.items[i];
      const bool last_of_channel = std::none_of(
          result.items.begin() + static_cast<std::ptrdiff_t>(i) + 1, result.items.end(),
          [&](const ItemPtr& later) { return later->channel == item->channel; });
      if (last_of_channel) listener_(item->channel, item->id);
    }
  }
  return result;
}

StoreStatus MemoryStore::CheckRoom(const std::vector<ItemPtr>& items) {
  struct Need {
    std::size_t items = 0, bytes = 0;
  };
  const auto check = [&](std::size_t total, const auto& per_channel) {
    // Only evicting (part of) the publish itself would make room for it.
    if (total > limits_.memory_limit) return StoreStatus::kTooLarge;
    std::size_t new_channels = 0;
    for (const auto& [name, need] : per_channel) {
      if (need.bytes > limits_.max_bytes || need.items > limits_.max_items) {
        return StoreStatus::kTooLarge;
      }
      if (!channels_.count(name)) ++new_channels;
    }
    if (channels_.size() + new_channels > limits_.max_channels) return StoreStatus::kFull;
    return StoreStatus::kOk;
  };
  if (items.empty()) return StoreStatus::kOk;
  std::size_t total = 0;
  for (const ItemPtr& item : items) total += item->footprint();
  // Most publishes write to one channel: counted without building a map.
  const std::string_view first = items.front()->channel;
  if (std::all_of(items.begin(), items.end(),
                  [&](const ItemPtr& item) { return item->channel == first; })) {
    const std::pair<std::string_view, Need> one[] = {{first, {items.size(), total}}};
    return check(total, one);
  }
  std::map<std::string_view, Need> per_channel;
  for (const ItemPtr& item : items) {
    Need& need = per_channel[item->channel];
    ++need.items;
    need.bytes += item->footprint();
  }
  return check(total, per_channel);
}

void MemoryStore::Keep(const ItemPtr& item) {
  auto [it, fresh] = channels_.try_emplace(item->channel);
  Channel& channel = it->second;
  if (channel.items.empty()) oldest_.emplace(item->id, &it->first);
  channel.items.push_back(item);
  channel.bytes += item->footprint();
  retained_bytes_ += item->footprint();
  while (channel.items.size() > limits_.max_items || channel.bytes > limits_.max_bytes) {
    EvictOldest(it);
  }
  // The globally oldest items go first; the new item is the newest, and CheckRoom made sure
  // it fits, so it is never the one evicted.
  while (retained_bytes_ > limits_.memory_limit) {
    auto oldest = channels_.find(*oldest_.begin()->second);
    EvictOldest(oldest);
    if (oldest->second.items.empty()) Reclaim(oldest);
  }
  // Held in `item`, not read back from `channel`: a clock that jumped past max_age since
  // the ids were taken expires the new item too, and the emptied channel is reclaimed.
  if (limits_.max_age_us > 0) EvictExpired(channels_.find(item->channel));
}

void MemoryStore::EvictOldest(Channels_::iterator it) {
  Channel& channel = it->second;
  const ItemPtr& front = channel.items.front();
  // The channel's entry moves to its next item: its node is reused, not freed and made
  // again (this runs for nearly every publish once a channel's backlog is full).
  auto entry = oldest_.extract({front->id, &it->first});
  channel.evicted_upto = front->id;
  channel.bytes -= front->footprint();
  retained_bytes_ -= front->footprint();
  channel.items.pop_front();
  if (!channel.items.empty()) {
    entry.value().first = FrontId(channel.items);
    oldest_.insert(std::move(entry));
  }
  evictions_.fetch_add(1, std::memory_order_relaxed);
}

MemoryStore::Channels_::iterator MemoryStore::EvictExpired(Channels_::iterator it) {
  const std::int64_t oldest_kept_ms = (ids_.NowMicros() - limits_.max_age_us) / 1000;
  Channel& channel = it->second;
  while (!channel.items.empty() && channel.items.front()->timestamp_ms < oldest_kept_ms) {
    EvictOldest(it);
  }
  if (!channel.items.empty()) return it;
  Reclaim(it);
  return channels_.end();
}

void MemoryStore::Reclaim(Channels_::iterator it) {
  // A flood of one-off names must not grow memory.
  reclaimed_upto_ = std::max(reclaimed_upto_, it->second.evicted_upto);
  channels_.erase(it);
}

ReadResult MemoryStore::Read(const ReadRequest& request) {
  ReadResult result;
  const std::uint64_t since = request.since;
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

  // Where each channel's items after the cursor begin; merged below in id order.
  struct Cursor {
    std::deque<ItemPtr>::const_iterator next, end;
  };
  std::vector<Cursor> cursors;
  cursors.reserve(request.channels.size());
  for (const std::string& name : request.channels) {
    auto it = channels_.find(name);
    if (it == channels_.end()) continue;
    if (limits_.max_age_us > 0) {
      it = EvictExpired(it);
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
    if (first != channel.items.end()) cursors.push_back({first, channel.items.end()});
  }
  std::size_t bytes = 0;
  for (;;) {
    Cursor* pick = nullptr;
    for (Cursor& c : cursors) {
      if (c.next != c.end && (!pick || (*c.next)->id < (*pick->next)->id)) pick = &c;
    }
    if (!pick) break;
    const ItemPtr& item = *pick->next;
    // Bounded by count and bytes, but never empty: a reader must always move on.
    if (!result.items.empty() && (result.items.size() >= request.max_items ||
                                  bytes + item->json.size() > request.max_bytes)) {
      result.more = true;
      break;
    }
    bytes += item->json.size();
    result.items.push_back(item);
    ++pick->next;
  }
  return result;
}

std::uint64_t MemoryStore::Head() {
  std::lock_guard lock(mu_);
  return ids_.last();
}

StoreHealth MemoryStore::Health() {
  StoreHealth health;
  health.evictions = evictions_.load(std::memory_order_relaxed);
  return health;
}

std::vector<ChannelStats> MemoryStore::Channels(const std::string& after, std::size_t limit) {
  std::vector<ChannelStats> out;
  std::lock_guard lock(mu_);
  for (auto it = channels_.upper_bound(after); it != channels_.end() && out.size() < limit; ++it) {
    const std::deque<ItemPtr>& items = it->second.items;
    if (items.empty()) continue;
    out.push_back({it->first, items.size(), items.back()->id, items.back()->timestamp_ms});
  }
  return out;
}

std::size_t MemoryStore::ChannelCount() {
  std::lock_guard lock(mu_);
  return channels_.size();
}

std::size_t MemoryStore::RetainedBytes() {
  std::lock_guard lock(mu_);
  return retained_bytes_;
}

}  // namespace livefeed
