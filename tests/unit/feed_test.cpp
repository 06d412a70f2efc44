// Feed: waiting for items, being released by publishes, and every other way a wait ends.
// Waits that must end by a publish, shutdown or cancellation get deadlines far beyond the
// test's run time, so a missed wake-up shows as a failure of WaitUntil, not as a slow pass.
#include "core/feed.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "failing_store.h"
#include "store/memory_store.h"

namespace livefeed {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr std::int64_t kSomeTimeUs = 1'700'000'000'000'000;

// Polls `predicate` until it holds or `timeout` passes; true when it held.
bool WaitUntil(const std::function<bool()>& predicate, milliseconds timeout = seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!predicate()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(1));
  }
  return true;
}

Waiter::Clock::time_point Far() { return Waiter::Clock::now() + seconds(60); }
// Long enough for a stray wake-up to have been delivered, short enough to keep tests quick.
Waiter::Clock::time_point Soon() { return Waiter::Clock::now() + milliseconds(50); }

WaitRequest Since(std::uint64_t since, std::vector<std::string> channels = {"default"}) {
  WaitRequest request;
  request.channels = std::move(channels);
  request.since = since;
  return request;
}

WaitRequest FromNow(std::vector<std::string> channels = {"default"}) {
  WaitRequest request;
  request.channels = std::move(channels);
  request.from_now = true;
  return request;
}

ItemDraft Draft(const std::string& channel, const std::string& data = "1") {
  return {channel, "", data};
}

// A feed over a memory store whose clock stands still, so ids are origin+1, origin+2, ...
struct FeedFixture {
  MemoryStore store{{.max_items = 100'000}, [] { return kSomeTimeUs; }};
  Feed feed{store};

  std::future<WaitResult> WaitInBackground(WaitRequest request,
                                           std::shared_ptr<Waiter> waiter = nullptr,
                                           Waiter::Clock::time_point deadline = Far()) {
    if (!waiter) waiter = std::make_shared<Waiter>();
    return std::async(std::launch::async, [this, request, waiter, deadline] {
      return feed.WaitForItems(request, deadline, waiter);
    });
  }

  bool WaitForWaiters(std::size_t count) {
    return WaitUntil([&] { return feed.WaiterCount() == count; });
  }
};

TEST_CASE_FIXTURE(FeedFixture, "a wait answers at once with items already after the cursor") {
  const auto cursor = store.Head();
  const auto id = feed.Publish(Draft("default")).item->id;
  WaitResult result = feed.WaitForItems(Since(cursor), Far(), std::make_shared<Waiter>());
  CHECK(result.status == WaitStatus::kItems);
  REQUIRE(result.items.size() == 1);
  CHECK(result.items[0]->id == id);
  CHECK(result.cursor == id);
  CHECK_FALSE(result.truncated);
}

TEST_CASE_FIXTURE(FeedFixture, "a waiting subscriber is released by a publish on its channel") {
  auto waiting = WaitInBackground(Since(store.Head()));
  REQUIRE(WaitForWaiters(1));
  const auto id = feed.Publish(Draft("default", R"("hello")")).item->id;
  WaitResult result = waiting.get();
  CHECK(result.status == WaitStatus::kItems);
  REQUIRE(result.items.size() == 1);
  CHECK(result.items[0]->data_json == R"("hello")");
  CHECK(result.cursor == id);
}

TEST_CASE_FIXTURE(FeedFixture,
                  "a wait on several channels is released by a publish on any of them") {
  auto waiting = WaitInBackground(Since(store.Head(), {"a", "b", "c"}));
  REQUIRE(WaitForWaiters(1));
  const auto id = feed.Publish(Draft("b")).item->id;
  WaitResult result = waiting.get();
  CHECK(result.status == WaitStatus::kItems);
  REQUIRE(result.items.size() == 1);
  CHECK(result.items[0]->channel == "b");
  CHECK(result.cursor == id);
}

TEST_CASE_FIXTURE(FeedFixture, "a wait on several channels answers their items in id order") {
  const auto cursor = store.Head();
  const auto a = feed.Publish(Draft("a")).item->id;
  feed.Publish(Draft("elsewhere"));
  const auto b = feed.Publish(Draft("b")).item->id;
  const auto a2 = feed.Publish(Draft("a")).item->id;
  WaitResult result =
      feed.WaitForItems(Since(cursor, {"b", "a"}), Far(), std::make_shared<Waiter>());
  REQUIRE(result.items.size() == 3);
  CHECK(result.items[0]->id == a);
  CHECK(result.items[1]->id == b);
  CHECK(result.items[2]->id == a2);
  CHECK(result.cursor == a2);
}

TEST_CASE_FIXTURE(FeedFixture, "a publish on another channel does not release a waiter") {
  const auto cursor = store.Head();
  auto waiting =
      WaitInBackground(Since(cursor, {"mine"}), nullptr, Waiter::Clock::now() + milliseconds(300));
  REQUIRE(WaitForWaiters(1));
  feed.Publish(Draft("theirs"));
  WaitResult result = waiting.get();
  CHECK(result.status == WaitStatus::kTimeout);
  CHECK(result.items.empty());
  CHECK(result.cursor == cursor);
}

TEST_CASE_FIXTURE(FeedFixture, "a wait with nothing new times out with the cursor unchanged") {
  feed.Publish(Draft("default"));
  const auto cursor = store.Head();
  WaitResult result = feed.WaitForItems(Since(cursor), Soon(), std::make_shared<Waiter>());
  CHECK(result.status == WaitStatus::kTimeout);
  CHECK(result.items.empty());
  CHECK(result.cursor == cursor);
  CHECK_FALSE(result.truncated);
}

TEST_CASE_FIXTURE(FeedFixture, "a from-now wait ignores items published before it") {
  feed.Publish(Draft("default"));
  const auto head = feed.Publish(Draft("default")).item->id;
  WaitResult result = feed.WaitForItems(FromNow(), Soon(), std::make_shared<Waiter>());
  CHECK(result.status == WaitStatus::kTimeout);
  CHECK(result.items.empty());
  // The head is where the client resumes without missing what comes next.
  CHECK(result.cursor == head);
}

TEST_CASE_FIXTURE(FeedFixture, "a from-now wait ignores `since`") {
  const auto old = store.Head();
  feed.Publish(Draft("default"));
  WaitRequest request = FromNow();
  request.since = old;
  WaitResult result = feed.WaitForItems(request, Soon(), std::make_shared<Waiter>());
  CHECK(result.status == WaitStatus::kTimeout);
  CHECK(result.items.empty());
}

TEST_CASE_FIXTURE(FeedFixture, "a from-now wait is released by the next publish") {
  feed.Publish(Draft("default"));
  auto waiting = WaitInBackground(FromNow());
  REQUIRE(WaitForWaiters(1));
  const auto id = feed.Publish(Draft("default")).item->id;
  WaitResult result = waiting.get();
  CHECK(result.status == WaitStatus::kItems);
  REQUIRE(result.items.size() == 1);
  CHECK(result.items[0]->id == id);
}

TEST_CASE_FIXTURE(FeedFixture, "a cursor beyond anything issued is answered at once as truncated") {
  const auto head = feed.Publish(Draft("other")).item->id;
  WaitResult result = feed.WaitForItems(Since(head + 1000), Far(), std::make_shared<Waiter>());
  CHECK(result.status == WaitStatus::kItems);
  CHECK(result.truncated);
  CHECK(result.items.empty());
  // Resuming from the head must not be truncated again, or the client would spin.
  CHECK(result.cursor == head);
  WaitResult next = feed.WaitForItems(Since(result.cursor), Soon(), std::make_shared<Waiter>());
  CHECK(next.status == WaitStatus::kTimeout);
  CHECK_FALSE(next.truncated);
}

TEST_CASE_FIXTURE(FeedFixture,
                  "a wait answers at most `limit` items with the cursor to fetch the rest") {
  const auto cursor = store.Head();
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(feed.Publish(Draft("default")).item->id);
  WaitRequest request = Since(cursor);
  request.limit = 2;
  WaitResult first = feed.WaitForItems(request, Far(), std::make_shared<Waiter>());
  REQUIRE(first.items.size() == 2);
  CHECK(first.cursor == ids[1]);
  request.since = first.cursor;
  WaitResult second = feed.WaitForItems(request, Far(), std::make_shared<Waiter>());
  REQUIRE(second.items.size() == 2);
  CHECK(second.items[0]->id == ids[2]);
}

TEST_CASE_FIXTURE(FeedFixture, "one publish releases every waiter with the item") {
  constexpr std::size_t kWaiters = 200;
  const auto cursor = store.Head();
  std::vector<std::future<WaitResult>> waiting;
  for (std::size_t i = 0; i < kWaiters; ++i) waiting.push_back(WaitInBackground(Since(cursor)));
  REQUIRE(WaitForWaiters(kWaiters));
  const auto id = feed.Publish(Draft("default")).item->id;
  for (auto& w : waiting) {
    WaitResult result = w.get();
    CHECK(result.status == WaitStatus::kItems);
    REQUIRE(result.items.size() == 1);
    CHECK(result.items[0]->id == id);
  }
  CHECK(feed.WaiterCount() == 0);
}

TEST_CASE_FIXTURE(FeedFixture, "concurrent publishes get distinct ids, increasing per channel") {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 1000;
  std::vector<std::vector<std::uint64_t>> ids(kThreads);
  std::vector<std::thread> publishers;
  for (int t = 0; t < kThreads; ++t) {
    publishers.emplace_back([&, t] {
      const std::string channel = "c" + std::to_string(t % 4);
      for (int i = 0; i < kPerThread; ++i) ids[t].push_back(feed.Publish(Draft(channel)).item->id);
    });
  }
  for (auto& p : publishers) p.join();

  std::set<std::uint64_t> distinct;
  for (const auto& mine : ids) {
    CHECK(std::is_sorted(mine.begin(), mine.end()));
    distinct.insert(mine.begin(), mine.end());
  }
  CHECK(distinct.size() == kThreads * kPerThread);

  // Each channel keeps its items in id order, and none went missing.
  std::size_t kept = 0;
  for (int c = 0; c < 4; ++c) {
    ReadResult read = store.Read({"c" + std::to_string(c)}, 0, 100'000);
    CHECK(std::adjacent_find(read.items.begin(), read.items.end(),
                             [](const ItemPtr& a, const ItemPtr& b) { return a->id >= b->id; }) ==
          read.items.end());
    kept += read.items.size();
  }
  CHECK(kept == kThreads * kPerThread);
}

TEST_CASE_FIXTURE(FeedFixture, "subscribers following their cursor see every concurrent publish") {
  constexpr int kPublishers = 4;
  constexpr int kPerPublisher = 500;
  constexpr std::size_t kTotal = kPublishers * kPerPublisher;
  const auto start = store.Head();

  std::vector<std::future<std::vector<std::uint64_t>>> subscribers;
  for (int s = 0; s < 4; ++s) {
    subscribers.push_back(std::async(std::launch::async, [&] {
      std::vector<std::uint64_t> seen;
      auto waiter = std::make_shared<Waiter>();
      std::uint64_t cursor = start;
      WaitRequest request = Since(cursor, {"a", "b"});
      request.limit = 50;  // Small answers make subscribers come back mid-burst.
      while (seen.size() < kTotal) {
        request.since = cursor;
        WaitResult result = feed.WaitForItems(request, Far(), waiter);
        if (result.status != WaitStatus::kItems || result.truncated) break;
        for (const auto& item : result.items) seen.push_back(item->id);
        cursor = result.cursor;
      }
      return seen;
    }));
  }
  std::vector<std::thread> publishers;
  for (int p = 0; p < kPublishers; ++p) {
    publishers.emplace_back([&, p] {
      for (int i = 0; i < kPerPublisher; ++i) feed.Publish(Draft(p % 2 ? "a" : "b"));
    });
  }
  for (auto& p : publishers) p.join();

  for (auto& s : subscribers) {
    std::vector<std::uint64_t> seen = s.get();
    CHECK(seen.size() == kTotal);
    CHECK(std::adjacent_find(seen.begin(), seen.end(), std::greater_equal<>()) == seen.end());
  }
}

TEST_CASE_FIXTURE(FeedFixture, "shutdown releases waiters with kShutdown") {
  const auto cursor = store.Head();
  auto first = WaitInBackground(Since(cursor));
  auto second = WaitInBackground(Since(cursor, {"a", "b"}));
  REQUIRE(WaitForWaiters(2));
  feed.Shutdown();
  CHECK(feed.shutting_down());
  WaitResult result = first.get();
  CHECK(result.status == WaitStatus::kShutdown);
  CHECK(result.cursor == cursor);
  CHECK(second.get().status == WaitStatus::kShutdown);
}

TEST_CASE_FIXTURE(FeedFixture, "a wait started after shutdown returns kShutdown at once") {
  feed.Shutdown();
  WaitResult result = feed.WaitForItems(Since(store.Head()), Far(), std::make_shared<Waiter>());
  CHECK(result.status == WaitStatus::kShutdown);
}

TEST_CASE_FIXTURE(FeedFixture, "a wait started after shutdown still answers the items it has") {
  const auto cursor = store.Head();
  feed.Publish(Draft("default"));
  feed.Shutdown();
  WaitResult result = feed.WaitForItems(Since(cursor), Far(), std::make_shared<Waiter>());
  CHECK(result.status == WaitStatus::kItems);
  CHECK(result.items.size() == 1);
}

TEST_CASE_FIXTURE(FeedFixture, "cancelling a waiter ends its wait with kCancelled") {
  auto waiter = std::make_shared<Waiter>();
  auto waiting = WaitInBackground(Since(store.Head()), waiter);
  REQUIRE(WaitForWaiters(1));
  waiter->Cancel();
  CHECK(waiting.get().status == WaitStatus::kCancelled);
  CHECK(feed.WaiterCount() == 0);
}

TEST_CASE_FIXTURE(FeedFixture, "a waiter cancelled beforehand returns kCancelled at once") {
  auto waiter = std::make_shared<Waiter>();
  waiter->Cancel();
  CHECK(waiter->cancelled());
  WaitResult result = feed.WaitForItems(Since(store.Head()), Far(), waiter);
  CHECK(result.status == WaitStatus::kCancelled);
}

TEST_CASE_FIXTURE(FeedFixture, "cancelling one waiter leaves the others waiting") {
  auto cancelled = std::make_shared<Waiter>();
  const auto cursor = store.Head();
  auto leaving = WaitInBackground(Since(cursor), cancelled);
  auto staying = WaitInBackground(Since(cursor));
  REQUIRE(WaitForWaiters(2));
  cancelled->Cancel();
  CHECK(leaving.get().status == WaitStatus::kCancelled);
  REQUIRE(WaitForWaiters(1));
  feed.Publish(Draft("default"));
  CHECK(staying.get().status == WaitStatus::kItems);
}

TEST_CASE_FIXTURE(FeedFixture, "a finished wait leaves no waiter registered") {
  feed.WaitForItems(Since(store.Head(), {"a", "b"}), Soon(), std::make_shared<Waiter>());
  CHECK(feed.WaiterCount() == 0);
}

TEST_CASE_FIXTURE(FeedFixture,
                  "NotifyChannel releases waiters for items added to the store directly") {
  auto waiting = WaitInBackground(Since(store.Head(), {"remote"}));
  REQUIRE(WaitForWaiters(1));
  // As a Redis store would: the item arrives from another process, then the channel is signalled.
  const auto id = store.Append(Draft("remote")).item->id;
  feed.NotifyChannel("remote");
  WaitResult result = waiting.get();
  CHECK(result.status == WaitStatus::kItems);
  REQUIRE(result.items.size() == 1);
  CHECK(result.items[0]->id == id);
}

TEST_CASE("a wait on an unavailable store ends with kStoreError") {
  testing::FailingStore store([] { return kSomeTimeUs; });
  Feed feed(store);
  store.set_reads_fail(true);
  WaitResult result = feed.WaitForItems(Since(0), Far(), std::make_shared<Waiter>());
  CHECK(result.status == WaitStatus::kStoreError);
  CHECK(feed.WaiterCount() == 0);
}

TEST_CASE("a publish to an unavailable store fails and releases no waiter") {
  testing::FailingStore store([] { return kSomeTimeUs; });
  Feed feed(store);
  const auto cursor = store.Head();
  auto waiting = std::async(std::launch::async, [&] {
    return feed.WaitForItems(Since(cursor), Waiter::Clock::now() + milliseconds(300),
                             std::make_shared<Waiter>());
  });
  REQUIRE(WaitUntil([&] { return feed.WaiterCount() == 1; }));
  store.set_appends_fail(true);
  AppendResult appended = feed.Publish(Draft("default"));
  CHECK(appended.status == StoreStatus::kUnavailable);
  CHECK_FALSE(appended.item);
  CHECK(waiting.get().status == WaitStatus::kTimeout);
}

}  // namespace
}  // namespace livefeed
