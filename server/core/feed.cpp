#include "core/feed.h"

namespace livefeed {

Feed::Feed(Store& store) : store_(store) {
  store_.SetListener([this](const std::string& channel) { NotifyChannel(channel); });
}

AppendResult Feed::Publish(ItemDraft draft) {
  AppendResult appended = store_.Append(std::move(draft));
  if (appended.status == StoreStatus::kOk) NotifyChannel(appended.item->channel);
  return appended;
}

void Feed::NotifyChannel(const std::string& channel) {
  std::vector<std::shared_ptr<Waiter>> to_wake;
  {
    std::lock_guard lock(mu_);
    auto it = waiters_.find(channel);
    if (it == waiters_.end()) return;
    to_wake.assign(it->second.begin(), it->second.end());
  }
  // Woken outside the lock so that waiters re-registering do not queue behind us.
  for (const auto& waiter : to_wake) waiter->Wake();
}

void Feed::Shutdown() {
  shutting_down_ = true;
  std::vector<std::shared_ptr<Waiter>> to_wake;
  {
    std::lock_guard lock(mu_);
    for (const auto& [channel, set] : waiters_) to_wake.insert(to_wake.end(), set.begin(), set.end());
  }
  for (const auto& waiter : to_wake) waiter->Wake();
}

std::size_t Feed::WaiterCount() {
  std::lock_guard lock(mu_);
  std::unordered_set<Waiter*> distinct;
  for (const auto& [channel, set] : waiters_) {
    for (const auto& waiter : set) distinct.insert(waiter.get());
  }
  return distinct.size();
}

void Feed::Register(const std::vector<std::string>& channels,
                    const std::shared_ptr<Waiter>& waiter) {
  std::lock_guard lock(mu_);
  for (const auto& channel : channels) waiters_[channel].insert(waiter);
}

void Feed::Unregister(const std::vector<std::string>& channels,
                      const std::shared_ptr<Waiter>& waiter) {
  std::lock_guard lock(mu_);
  for (const auto& channel : channels) {
    auto it = waiters_.find(channel);
    if (it == waiters_.end()) continue;
    it->second.erase(waiter);
    // Reclaimed so that subscribers to random channel names leave nothing behind.
    if (it->second.empty()) waiters_.erase(it);
  }
}

WaitResult Feed::WaitForItems(const WaitRequest& request, Waiter::Clock::time_point deadline,
                              const std::shared_ptr<Waiter>& waiter) {
  WaitResult result;
  Register(request.channels, waiter);
  std::uint64_t since = request.since;
  if (request.from_now) since = store_.Head();
  result.cursor = since;

  for (;;) {
    if (waiter->cancelled()) {
      result.status = WaitStatus::kCancelled;
      break;
    }
    ReadResult read = store_.Read(request.channels, since, request.limit);
    if (read.status != StoreStatus::kOk) {
      result.status = WaitStatus::kStoreError;
      break;
    }
    if (!read.items.empty() || read.truncated) {
      result.status = WaitStatus::kItems;
      result.truncated = read.truncated;
      // A truncated answer without items resumes from the store's head: the client has
      // been told it missed something, and waiting from an unknown cursor would not end.
      result.cursor = read.items.empty() ? read.head : read.items.back()->id;
      result.items = std::move(read.items);
      break;
    }
    if (shutting_down_) {
      result.status = WaitStatus::kShutdown;
      break;
    }
    if (!waiter->WaitUntil(deadline) && Waiter::Clock::now() >= deadline) {
      result.status = WaitStatus::kTimeout;
      break;
    }
  }
  Unregister(request.channels, waiter);
  return result;
}

}  // namespace livefeed
