// Where items are kept: the interface the feed reads and writes through, so that the
// transports do not care whether memory or Redis is behind it.
// Implementations are safe for concurrent use without external synchronization.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/item.h"

namespace livefeed {

// kFull: the item would open a channel beyond the store's channel limit.
enum class StoreStatus { kOk, kUnavailable, kFull };

struct AppendResult {
  StoreStatus status = StoreStatus::kOk;
  ItemPtr item;  // Set when status is kOk.
};

struct ReadResult {
  StoreStatus status = StoreStatus::kOk;
  std::vector<ItemPtr> items;  // Id order, id > since, at most `limit`.
  // The store cannot vouch that nothing after `since` was lost (evicted, or from before
  // this store's memory began). Never set for since == 0.
  bool truncated = false;
  // The newest id the store has issued: a cursor meaning "now".
  std::uint64_t head = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // Assigns the item its id and timestamp and keeps it.
  virtual AppendResult Append(ItemDraft draft) = 0;

  // Items with id > since on any of `channels` (valid, distinct names).
  virtual ReadResult Read(const std::vector<std::string>& channels, std::uint64_t since,
                          std::size_t limit) = 0;

  // The newest id issued so far.
  virtual std::uint64_t Head() = 0;

  // Stores fed by other processes (Redis) call `listener(channel)` when an item arrives
  // from elsewhere; the memory store never does.
  using Listener = std::function<void(const std::string& channel)>;
  virtual void SetListener(Listener /*listener*/) {}
};

}  // namespace livefeed
