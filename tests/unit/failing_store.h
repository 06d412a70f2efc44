// A MemoryStore that can be told to fail, or to answer later, for the error and
// asynchronous paths of the feed, the transports and the delivery.
// Safe for concurrent use, like the store it wraps.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "core/store.h"
#include "store/memory_store.h"

namespace livefeed::testing {

class FailingStore : public Store {
 public:
  explicit FailingStore(WallClock clock, MemoryStoreLimits limits = {})
      : inner_(limits, std::move(clock)) {}

  // While set, Append (or Read) answers kUnavailable, as a Redis store would while Redis is
  // down. Separate, so a test can fail publishes without failing a subscriber's reads.
  void set_appends_fail(bool fail) { appends_fail_ = fail; }
  void set_reads_fail(bool fail) { reads_fail_ = fail; }
  // While set, reads answer later: their completions wait until Complete() runs them, as a
  // shared store's would arrive on its own thread.
  void set_reads_later(bool later) { reads_later_ = later; }
  // Runs the completions of the reads answered later; returns how many ran.
  std::size_t Complete() {
    std::vector<std::function<void()>> pending;
    {
      std::lock_guard lock(mu_);
      pending.swap(pending_);
    }
    for (auto& complete : pending) complete();
    return pending.size();
  }

  std::optional<AppendResult> Append(AppendRequest request, AppendDone done) override {
    if (appends_fail_) return AppendResult{StoreStatus::kUnavailable, {}, false};
    return inner_.Append(std::move(request), std::move(done));
  }
  std::optional<ReadResult> Read(const ReadRequest& request, ReadDone done) override {
    ReadResult result;
    if (reads_fail_) {
      result.status = StoreStatus::kUnavailable;
    } else {
      result = inner_.Read(request);
    }
    if (!reads_later_) return result;
    std::lock_guard lock(mu_);
    pending_.push_back([done = std::move(done), result] { done(result); });
    return std::nullopt;
  }
  std::uint64_t Head() override { return inner_.Head(); }
  void SetListener(Listener listener) override { inner_.SetListener(std::move(listener)); }
  StoreHealth Health() override { return inner_.Health(); }
  std::vector<ChannelStats> Channels(const std::string& after, std::size_t limit) override {
    return inner_.Channels(after, limit);
  }

 private:
  MemoryStore inner_;
  std::atomic<bool> appends_fail_{false};
  std::atomic<bool> reads_fail_{false};
  std::atomic<bool> reads_later_{false};
  std::mutex mu_;
  std::vector<std::function<void()>> pending_;  // Guarded by mu_.
};

}  // namespace livefeed::testing
