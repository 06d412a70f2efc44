// Where items are kept: the interface the feed and the transports read and write through,
// so that nothing above cares whether memory or Redis is behind it.
//   - A store answers at once when it can (memory always; Redis from its in-memory tail)
//     and otherwise later, through a callback on its own thread: the event loop never
//     waits for a store round trip.
//   - A store tells its listener about every item it learns of, whether appended on this
//     node or announced by another; that is how waiting subscribers are woken. After a
//     start-over it tells of "every channel" (an empty name) once.
// Implementations are safe for concurrent use without external synchronization.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "core/item.h"

namespace livefeed {

enum class StoreStatus {
  kOk,
  kUnavailable,  // The store cannot be reached (Redis down): retry later.
  kFull,         // The item would open a channel beyond the channel limit.
  kTooLarge,     // Keeping the items would mean evicting them (count or byte limits).
  kKeyConflict,  // The idempotency key was used for a different request.
  kBusy,         // Too many operations in flight: retry later.
};

// One publish: one item, or a batch kept all together with consecutive ids, or not at all.
struct AppendRequest {
  std::vector<ItemDraft> drafts;
  // Empty: none. Otherwise a retry with the same key within the store's window answers the
  // first publish's items and adds nothing.
  std::string idempotency_key;
  // Identifies what was asked (a digest of the body): the same key with another fingerprint
  // is a kKeyConflict, not a replay.
  std::string fingerprint;
};

struct AppendResult {
  StoreStatus status = StoreStatus::kOk;
  std::vector<ItemPtr> items;  // When kOk: one per draft, in order (the first publish's when
                               // `replayed`).
  bool replayed = false;
};

struct ReadRequest {
  std::vector<std::string> channels;  // Valid, distinct names.
  std::uint64_t since = 0;            // Items with id > since.
  std::size_t max_items = 1000;
  // Bound on the summed size of the items' JSON; at least one item is returned whatever
  // its size, so a reader always moves on.
  std::size_t max_bytes = std::numeric_limits<std::size_t>::max();
};

struct ReadResult {
  StoreStatus status = StoreStatus::kOk;
  std::vector<ItemPtr> items;  // Id order, id > since, within the request's bounds.
  // More items after the last one returned exist now: read again at once.
  bool more = false;
  // The store cannot vouch that nothing after `since` was lost (evicted, or from before
  // this store's memory began). Never set for since == 0.
  bool truncated = false;
  // The newest id the store has issued (or learnt of): a cursor meaning "now".
  std::uint64_t head = 0;
};

// What an operator (and /healthz, /metrics) sees of a store. Counters only grow.
struct StoreHealth {
  bool up = true;
  std::string detail;  // Why it is down, for the log and /healthz.
  std::uint64_t errors = 0;
  std::uint64_t reconnects = 0;
  std::uint64_t evictions = 0;  // Items dropped by count, age or byte limits.
};

// What the store holds of one channel (the /channels endpoint).
struct ChannelStats {
  std::string channel;
  std::size_t items = 0;
  std::uint64_t head = 0;            // Newest item id in the channel, 0 if none.
  std::int64_t last_publish_ms = 0;  // Its timestamp, 0 if none.
};

class Store {
 public:
  using AppendDone = std::function<void(AppendResult)>;
  using ReadDone = std::function<void(ReadResult)>;
  // Told of new items on `channel`, up to id `newest`. Runs on any thread; must be quick.
  // An empty `channel` means every channel may have news: the store started over, or came
  // back after reads failed, so every subscriber should read again after its cursor.
  using Listener = std::function<void(const std::string& channel, std::uint64_t newest)>;

  virtual ~Store() = default;

  // Assigns ids and timestamps and keeps the items. Returns the result now, or nullopt
  // when the store completes later: then `done` runs exactly once, on the store's thread.
  // `done` is never called when a result is returned.
  virtual std::optional<AppendResult> Append(AppendRequest request, AppendDone done) = 0;
  // True if Append always returns its result now: a caller need not make a `done` (an
  // empty one will do).
  virtual bool AppendsAtOnce() const { return false; }

  // Items after request.since. Same contract as Append for now-or-later.
  virtual std::optional<ReadResult> Read(const ReadRequest& request, ReadDone done) = 0;

  // The newest id issued or learnt of; never blocks.
  virtual std::uint64_t Head() = 0;

  // Set once, before the store is used.
  virtual void SetListener(Listener listener) = 0;

  virtual StoreHealth Health() = 0;

  // Channels holding items, in name order, starting after `after`, at most `limit`. Never
  // blocks: a shared store answers from what this node has seen.
  virtual std::vector<ChannelStats> Channels(const std::string& after, std::size_t limit) = 0;
};

}  // namespace livefeed
