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
    for (const auto& [channel, set] : waiters_)
      to_wake.insert(to_wake.end(), set.begin(), set.end());
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

WaitResult Feed::CheckWait(const WaitRequest& request) {
  WaitResult result;
  result.cursor = request.since;
  ReadResult read = store_.Read(request.channels, request.since, request.limit);
  if (read.status != StoreStatus::kOk) {
    result.status = WaitStatus::kStoreError;
    return result;
  }
  if (read.items.empty() && !read.truncated) {
    result.status = shutting_down_ ? WaitStatus::kShutdown : WaitStatus::kPending;
    return result;
  }
  result.status = WaitStatus::kItems;
  result.truncated = read.truncated;
  // A truncated answer without items resumes from the store's head: the client has been
  // told it missed something, and waiting from an unknown cursor would not end.
  result.cursor = read.items.empty() ? read.head : read.items.back()->id;
  result.items = std::move(read.items);
  return result;
}

void Feed::StartWatching(WaitRequest& request, const std::shared_ptr<Waiter>& waiter) {
  // Registered before the cursor is read: a publish in between is not missed.
  Register(request.channels, waiter);
  if (request.from_now) {
    request.since = store_.Head();
    request.from_now = false;
  }
}

WaitResult Feed::BeginWait(WaitRequest request, const std::shared_ptr<Waiter>& waiter) {
  StartWatching(request, waiter);
  WaitResult result = CheckWait(request);
  if (result.status != WaitStatus::kPending) Unregister(request.channels, waiter);
  return result;
}

void Feed::EndWait(const std::vector<std::string>& channels,
                   const std::shared_ptr<Waiter>& waiter) {
  Unregister(channels, waiter);
}

WaitResult Feed::WaitForItems(const WaitRequest& request, Waiter::Clock::time_point deadline,
                              const std::shared_ptr<Waiter>& waiter) {
  WaitResult result = BeginWait(request, waiter);
  if (result.status != WaitStatus::kPending) return result;
  WaitRequest resolved = request;
  resolved.since = result.cursor;
  resolved.from_now = false;
  for (;;) {
    // A cancel (also one before the wait) ends WaitUntil at once.
    if (!waiter->WaitUntil(deadline) && Waiter::Clock::now() >= deadline) {
      result.status = WaitStatus::kTimeout;
      break;
    }
    if (waiter->cancelled()) {
      result.status = WaitStatus::kCancelled;
      break;
    }
    result = CheckWait(resolved);
    if (result.status != WaitStatus::kPending) break;
  }
  EndWait(request.channels, waiter);
  return result;
}

}  // namespace livefeed
