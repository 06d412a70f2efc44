#include "core/feed.h"

namespace livefeed {

Feed::Feed(Store& store) : store_(store) {
  store_.SetListener([this](const std::string& channel, std::uint64_t newest) {
    for (const auto& listener : listeners_) listener(channel, newest);
  });
}

void Feed::AddListener(Store::Listener listener) { listeners_.push_back(std::move(listener)); }

std::optional<AppendResult> Feed::Publish(AppendRequest request, Store::AppendDone done) {
  return store_.Append(std::move(request), std::move(done));
}

}  // namespace livefeed
