// The feed: where publishes go in and where news of items goes out.
//   1. Publish hands the items to the store.
//   2. The store tells the feed of every item it learns of, appended here or announced by
//      another node, on whatever thread it learns it.
//   3. The feed passes "channel C has items up to N" on to every listener (one per event
//      loop); each wakes its own subscribers of C, who read the store after their cursor.
// Safe for concurrent use; listeners are added before the store is used.
#pragma once

#include <atomic>
#include <optional>
#include <vector>

#include "core/store.h"

namespace livefeed {

class Feed {
 public:
  explicit Feed(Store& store);

  Feed(const Feed&) = delete;
  Feed& operator=(const Feed&) = delete;

  Store& store() { return store_; }

  // Told of new items on every channel. Add them all before the store is used.
  void AddListener(Store::Listener listener);

  // Keeps the items; same now-or-later contract as Store::Append.
  std::optional<AppendResult> Publish(AppendRequest request, Store::AppendDone done);

  // Marks the feed as stopping: subscribers get their answers and no new waits begin.
  void Shutdown() { shutting_down_ = true; }
  bool shutting_down() const { return shutting_down_.load(); }

 private:
  Store& store_;
  std::vector<Store::Listener> listeners_;  // Fixed before the store is used.
  std::atomic<bool> shutting_down_{false};
};

}  // namespace livefeed
