// Helpers for the Redis store's tests: a node (a RedisStore with a listener log), blocking
// forms of Append and Read that wait for a late answer with a generous deadline, and a
// follower that reads a channel after its cursor whenever the listener says so, as a
// subscriber of the transports would.
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/redis_store.h"
#include "support/redis_process.h"

namespace livefeed::testing {

inline constexpr auto kDeadline = std::chrono::seconds(20);

// Polls `predicate` until it holds or `timeout` passes.
inline bool WaitUntil(const std::function<bool()>& predicate,
                      std::chrono::milliseconds timeout = kDeadline) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!predicate()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// Options for a test node: short timeouts and backoff, so outages end quickly.
inline RedisStoreOptions TestOptions(int port) {
  RedisStoreOptions options;
  options.endpoint.host = "127.0.0.1";
  options.endpoint.port = port;
  options.timing.op_timeout = std::chrono::milliseconds(3000);
  options.timing.backoff_min = std::chrono::milliseconds(20);
  options.timing.backoff_max = std::chrono::milliseconds(200);
  options.probe_interval = std::chrono::milliseconds(500);
  return options;
}

inline AppendRequest Drafts(const std::string& channel, std::vector<std::string> datas,
                            std::string key = "", std::string fingerprint = "") {
  AppendRequest request;
  for (std::string& data : datas) request.drafts.push_back({channel, "", std::move(data)});
  request.idempotency_key = std::move(key);
  request.fingerprint = std::move(fingerprint);
  return request;
}

inline AppendResult AppendNow(Store& store, AppendRequest request) {
  auto promise = std::make_shared<std::promise<AppendResult>>();
  std::future<AppendResult> future = promise->get_future();
  std::optional<AppendResult> now =
      store.Append(std::move(request), [promise](AppendResult r) { promise->set_value(r); });
  if (now) return *now;
  REQUIRE(future.wait_for(kDeadline) == std::future_status::ready);
  return future.get();
}

struct ReadAnswer {
  ReadResult result;
  bool at_once = false;  // Answered from memory, without Redis.
};

inline ReadAnswer ReadNow(Store& store, std::vector<std::string> channels, std::uint64_t since,
                          std::size_t max_items = 1000) {
  ReadRequest request;
  request.channels = std::move(channels);
  request.since = since;
  request.max_items = max_items;
  auto promise = std::make_shared<std::promise<ReadResult>>();
  std::future<ReadResult> future = promise->get_future();
  std::optional<ReadResult> now =
      store.Read(request, [promise](ReadResult r) { promise->set_value(r); });
  if (now) return {*now, true};
  REQUIRE(future.wait_for(kDeadline) == std::future_status::ready);
  return {future.get(), false};
}

inline std::vector<std::uint64_t> Ids(const std::vector<ItemPtr>& items) {
  std::vector<std::uint64_t> ids;
  for (const ItemPtr& item : items) ids.push_back(item->id);
  return ids;
}

// A RedisStore whose listener wakes a follower thread for one channel: it reads after its
// cursor until nothing more comes, keeping every id it received.
class Node {
 public:
  Node(RedisStoreOptions options, std::string channel)
      : store_(std::move(options)), channel_(std::move(channel)) {
    store_.SetListener([this](const std::string& channel, std::uint64_t newest) {
      if (channel != channel_) return;
      std::lock_guard lock(mu_);
      heard_ = std::max(heard_, newest);
      ++wakes_;
      cv_.notify_all();
    });
    store_.Start();
    follower_ = std::thread([this] { Follow(); });
  }
  ~Node() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
      cv_.notify_all();
    }
    follower_.join();
    store_.Stop();
  }

  RedisStore& store() { return store_; }
  bool Up() { return store_.Health().up; }
  std::vector<std::uint64_t> received() {
    std::lock_guard lock(mu_);
    return received_;
  }
  bool truncated_seen() {
    std::lock_guard lock(mu_);
    return truncated_;
  }
  // Starts following from `cursor` (the head at first use, before any publish).
  void FollowFrom(std::uint64_t cursor) {
    std::lock_guard lock(mu_);
    cursor_ = cursor;
    following_ = true;
    ++wakes_;
    cv_.notify_all();
  }
  bool WaitForReceived(std::size_t count) {
    return WaitUntil([&] { return received().size() >= count; });
  }

 private:
  void Follow() {
    std::uint64_t seen_wakes = 0;
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return stop_ || (following_ && wakes_ != seen_wakes); });
      if (stop_) return;
      seen_wakes = wakes_;
      const std::uint64_t cursor = cursor_;
      lock.unlock();
      std::vector<ItemPtr> items;
      bool truncated = false, more = true, failed = false;
      std::uint64_t next = cursor;
      while (more) {
        ReadAnswer answer = ReadNow(store_, {channel_}, next);
        // Redis unreachable: the next wake tries again.
        if (answer.result.status != StoreStatus::kOk) {
          failed = true;
          break;
        }
        truncated |= answer.result.truncated;
        for (const ItemPtr& item : answer.result.items) items.push_back(item);
        if (!answer.result.items.empty()) next = answer.result.items.back()->id;
        more = answer.result.more;
      }
      lock.lock();
      truncated_ |= truncated;
      for (const ItemPtr& item : items) received_.push_back(item->id);
      cursor_ = next;
      // News that came while reading: read again.
      if (heard_ > cursor_ && !failed) ++wakes_;
    }
  }

  RedisStore store_;
  const std::string channel_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::uint64_t heard_ = 0, wakes_ = 0, cursor_ = 0;
  bool following_ = false, stop_ = false, truncated_ = false;
  std::vector<std::uint64_t> received_;
  std::thread follower_;
};

}  // namespace livefeed::testing
