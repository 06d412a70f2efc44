// Feed and SubscriberIndex: publishes go through the store, and news of them reaches every
// listener (event loop), which wakes exactly its subscribers of that channel.
#include "core/feed.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/subscriber_index.h"
#include "failing_store.h"
#include "store/memory_store.h"

namespace livefeed {
namespace {

constexpr std::int64_t kSomeTimeUs = 1'700'000'000'000'000;

AppendRequest One(const std::string& channel, const std::string& data = "1",
                  const std::string& key = "") {
  AppendRequest request;
  request.drafts.push_back({channel, "", data});
  request.idempotency_key = key;
  request.fingerprint = key.empty() ? "" : "print";
  return request;
}

// Records what a listener hears. Safe for concurrent use, like the store's listener.
struct Heard {
  std::mutex mu;
  std::vector<std::pair<std::string, std::uint64_t>> news;
  Store::Listener Listener() {
    return [this](const std::string& channel, std::uint64_t newest) {
      std::lock_guard lock(mu);
      news.emplace_back(channel, newest);
    };
  }
};

struct FeedFixture {
  MemoryStore store{{.max_items = 100'000}, [] { return kSomeTimeUs; }};
  Feed feed{store};
};

TEST_CASE_FIXTURE(FeedFixture, "a publish to the memory store is kept and answered at once") {
  std::optional<AppendResult> result = feed.Publish(One("c"), [](AppendResult) { FAIL("later"); });
  REQUIRE(result);
  REQUIRE(result->status == StoreStatus::kOk);
  CHECK(store.Read(ReadRequest{{"c"}, 0}).items.at(0)->id == result->items.at(0)->id);
}

TEST_CASE_FIXTURE(FeedFixture, "every listener hears of each publish on its channel") {
  Heard first, second;
  feed.AddListener(first.Listener());
  feed.AddListener(second.Listener());
  const auto id = feed.Publish(One("news"), nullptr)->items.at(0)->id;
  for (Heard* heard : {&first, &second}) {
    REQUIRE(heard->news.size() == 1);
    CHECK(heard->news[0] == std::pair<std::string, std::uint64_t>{"news", id});
  }
}

TEST_CASE("a publish the store refuses is news to nobody") {
  testing::FailingStore store([] { return kSomeTimeUs; });
  Feed feed(store);
  Heard heard;
  feed.AddListener(heard.Listener());
  store.set_appends_fail(true);
  std::optional<AppendResult> result = feed.Publish(One("c"), nullptr);
  REQUIRE(result);
  CHECK(result->status == StoreStatus::kUnavailable);
  CHECK(heard.news.empty());
}

TEST_CASE_FIXTURE(FeedFixture, "concurrent publishes get distinct increasing ids, all heard") {
  Heard heard;
  feed.AddListener(heard.Listener());
  constexpr int kThreads = 4, kEach = 500;
  std::vector<std::thread> threads;
  std::mutex mu;
  std::vector<std::uint64_t> ids;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::uint64_t last = 0;
      for (int i = 0; i < kEach; ++i) {
        const auto id = feed.Publish(One("c" + std::to_string(t)), nullptr)->items.at(0)->id;
        CHECK(id > last);  // Increasing as one publisher sees them.
        last = id;
        std::lock_guard lock(mu);
        ids.push_back(id);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(std::set<std::uint64_t>(ids.begin(), ids.end()).size() == ids.size());
  CHECK(heard.news.size() == ids.size());
}

TEST_CASE("the subscriber index names exactly the subscribers of a channel") {
  SubscriberIndex index;
  index.Add(1, {"a", "b"});
  index.Add(2, {"b"});
  CHECK(index.Of("a") == std::unordered_set<SubscriberIndex::Id>{1});
  CHECK(index.Of("b") == std::unordered_set<SubscriberIndex::Id>{1, 2});
  CHECK(index.Of("c").empty());
  index.Remove(1, {"a", "b"});
  CHECK(index.Count("a") == 0);
  CHECK(index.Count("b") == 1);
  index.Remove(2, {"b"});
  CHECK(index.Of("b").empty());
}

}  // namespace
}  // namespace livefeed
