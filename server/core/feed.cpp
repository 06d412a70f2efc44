#include "core/feed.h"

namespace livefeed {

Feed::Feed(Store& store) : store_(store) {
  store_.SetListener([this](const std::string& channel, std::uint64_t newest) {
    for (const auto& listener : listeners_) listener(channel, newest);
  });
}

void Feed::AddListener(Store::Listener listener) { listeners_.push_back(std::move(listener)); }

void Feed::Count(const AppendResult& result) {
  if (result.status == StoreStatus::kOk && !result.replayed) {
    published_.fetch_add(result.items.size(), std::memory_order_relaxed);
  }
}

std::optional<AppendResult> Feed::Publish(AppendRequest request, Store::AppendDone done) {
  std::optional<AppendResult> now =
      store_.Append(std::move(request), [this, done = std::move(done)](AppendResult result) {
        Count(result);
        done(std::move(result));
      });
  if (now) Count(*now);
  return now;
}

}  // namespace livefeed
