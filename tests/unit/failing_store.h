// A MemoryStore that can be told to fail, for the error paths of the feed and transports.
// Safe for concurrent use, like the store it wraps.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "core/store.h"
#include "store/memory_store.h"

namespace livefeed::testing {

class FailingStore : public Store {
 public:
  explicit FailingStore(WallClock clock) : inner_({}, std::move(clock)) {}

  // While set, Append (or Read) answers kUnavailable, as a Redis store would while Redis is
  // down. Separate, so a test can fail publishes without failing a waiter's reads.
  void set_appends_fail(bool fail) { appends_fail_ = fail; }
  void set_reads_fail(bool fail) { reads_fail_ = fail; }

  AppendResult Append(ItemDraft draft) override {
    if (appends_fail_) return {StoreStatus::kUnavailable, nullptr};
    return inner_.Append(std::move(draft));
  }
  ReadResult Read(const std::vector<std::string>& channels, std::uint64_t since,
                  std::size_t limit) override {
    if (reads_fail_) {
      ReadResult result;
      result.status = StoreStatus::kUnavailable;
      return result;
    }
    return inner_.Read(channels, since, limit);
  }
  std::uint64_t Head() override { return inner_.Head(); }

 private:
  MemoryStore inner_;
  std::atomic<bool> appends_fail_{false};
  std::atomic<bool> reads_fail_{false};
};

}  // namespace livefeed::testing
