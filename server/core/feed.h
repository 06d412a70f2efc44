// The feed: publishing into a store and waiting for what is published.
//
// How a subscriber waits:
//   1. It registers its Waiter on every channel it follows.
//   2. It reads the store; anything after its cursor is answered at once.
//   3. Otherwise it sleeps on its own Waiter until the deadline.
//   4. A publish appends to the store, then wakes exactly the waiters registered on that
//      channel; each reads the store again (step 2). Registering before reading means a
//      publish between 2 and 3 is never missed.
//   5. Shutdown wakes everyone; they answer with what they have.
// Safe for concurrent use without external synchronization.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/store.h"
#include "core/waiter.h"

namespace livefeed {

enum class WaitStatus {
  kItems,       // `items` holds what is after the cursor.
  kTimeout,     // Nothing arrived before the deadline.
  kShutdown,    // The server is stopping.
  kCancelled,   // The subscriber left.
  kStoreError,  // The store could not be read.
  kPending      // Nothing yet (BeginWait, CheckWait): the waiter stays registered.
};

struct WaitRequest {
  std::vector<std::string> channels;  // Valid, distinct names.
  std::uint64_t since = 0;            // Ignored when `from_now`.
  bool from_now = false;              // Only items published after the request.
  std::size_t limit = 1000;           // At most this many items in one answer.
};

struct WaitResult {
  WaitStatus status = WaitStatus::kTimeout;
  std::vector<ItemPtr> items;
  std::uint64_t cursor = 0;  // The cursor to resume from.
  bool truncated = false;
};

class Feed {
 public:
  explicit Feed(Store& store);

  Feed(const Feed&) = delete;
  Feed& operator=(const Feed&) = delete;

  // Appends the item and wakes the channel's waiters.
  AppendResult Publish(ItemDraft draft);

  // Waits until an item newer than the cursor exists on one of the channels (or the
  // deadline, shutdown, cancellation). Truncated answers return at once.
  WaitResult WaitForItems(const WaitRequest& request, Waiter::Clock::time_point deadline,
                          const std::shared_ptr<Waiter>& waiter);

  // The same wait in steps, for callers that wait without a thread (the parking lot):
  // BeginWait registers `waiter` and reads. A final result (items, truncated, shutdown,
  // store error) unregisters it; kPending leaves it registered, with `cursor` the resolved
  // cursor, until EndWait. After each wake, CheckWait reads again with that cursor.
  WaitResult BeginWait(WaitRequest request, const std::shared_ptr<Waiter>& waiter);
  // For a wait that outlasts many answers (a stream): registers `waiter` and resolves a
  // `from_now` cursor, without reading. CheckWait then reads; EndWait ends it.
  void StartWatching(WaitRequest& request, const std::shared_ptr<Waiter>& waiter);
  WaitResult CheckWait(const WaitRequest& request);
  void EndWait(const std::vector<std::string>& channels, const std::shared_ptr<Waiter>& waiter);

  // Wakes the waiters of `channel`; for items that reached the store from elsewhere.
  void NotifyChannel(const std::string& channel);

  // Wakes every waiter with kShutdown; waits started afterwards return kShutdown at once.
  void Shutdown();
  bool shutting_down() const { return shutting_down_.load(); }

  std::size_t WaiterCount();

 private:
  void Register(const std::vector<std::string>& channels, const std::shared_ptr<Waiter>& waiter);
  void Unregister(const std::vector<std::string>& channels, const std::shared_ptr<Waiter>& waiter);

  Store& store_;
  std::atomic<bool> shutting_down_{false};
  std::mutex mu_;
  // Guarded by mu_.
  std::unordered_map<std::string, std::unordered_set<std::shared_ptr<Waiter>>> waiters_;
};

}  // namespace livefeed
