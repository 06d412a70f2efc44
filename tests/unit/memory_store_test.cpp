// MemoryStore: what it keeps, what it drops, and when a reader is told it missed something.
#include "store/memory_store.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace livefeed {
namespace {

constexpr std::int64_t kSomeTimeUs = 1'700'000'000'000'000;
constexpr std::int64_t kSecondUs = 1'000'000;

struct FakeWallClock {
  std::int64_t now_us = kSomeTimeUs;
  WallClock AsWallClock() {
    return [this] { return now_us; };
  }
};

std::uint64_t Put(MemoryStore& store, const std::string& channel, const std::string& data = "1") {
  return store.Append({channel, "", data}).item->id;
}

std::vector<std::uint64_t> Ids(const ReadResult& read) {
  std::vector<std::uint64_t> ids;
  for (const ItemPtr& item : read.items) ids.push_back(item->id);
  return ids;
}

TEST_CASE("an appended item carries its id, timestamp, channel, type and data") {
  FakeWallClock time;
  MemoryStore store({}, time.AsWallClock());
  time.now_us += 2500;
  AppendResult appended = store.Append({"news", "alert", R"({"a":1})"});
  REQUIRE(appended.status == StoreStatus::kOk);
  REQUIRE(appended.item);
  CHECK(appended.item->id == static_cast<std::uint64_t>(time.now_us));
  CHECK(appended.item->timestamp_ms == time.now_us / 1000);
  CHECK(appended.item->channel == "news");
  CHECK(appended.item->type == "alert");
  CHECK(appended.item->data_json == R"({"a":1})");
  CHECK(appended.item->json == R"({"id":)" + std::to_string(appended.item->id) +
                                   R"(,"timestamp":)" + std::to_string(time.now_us / 1000) +
                                   R"(,"channel":"news","type":"alert","data":{"a":1}})");
  CHECK(store.Head() == appended.item->id);
}

TEST_CASE("a read returns only items after the cursor, in id order") {
  FakeWallClock time;
  MemoryStore store({}, time.AsWallClock());
  const auto a = Put(store, "c");
  const auto b = Put(store, "c");
  const auto c = Put(store, "c");
  CHECK(Ids(store.Read({"c"}, 0, 100)) == std::vector{a, b, c});
  CHECK(Ids(store.Read({"c"}, a, 100)) == std::vector{b, c});
  CHECK(Ids(store.Read({"c"}, c, 100)).empty());
}

TEST_CASE("a read of several channels merges them in id order") {
  FakeWallClock time;
  MemoryStore store({}, time.AsWallClock());
  const auto a1 = Put(store, "a");
  const auto b1 = Put(store, "b");
  Put(store, "other");
  const auto a2 = Put(store, "a");
  const auto b2 = Put(store, "b");
  ReadResult read = store.Read({"b", "a"}, 0, 100);
  CHECK(Ids(read) == std::vector{a1, b1, a2, b2});
  CHECK(Ids(store.Read({"b", "a"}, b1, 100)) == std::vector{a2, b2});
}

TEST_CASE("a read returns at most `limit` items, the oldest first") {
  FakeWallClock time;
  MemoryStore store({}, time.AsWallClock());
  const auto a1 = Put(store, "a");
  const auto b1 = Put(store, "b");
  Put(store, "a");
  ReadResult read = store.Read({"a", "b"}, 0, 2);
  CHECK(Ids(read) == std::vector{a1, b1});
  CHECK_FALSE(read.truncated);
}

TEST_CASE("a read reports the newest id issued as its head") {
  FakeWallClock time;
  MemoryStore store({}, time.AsWallClock());
  CHECK(store.Read({"a"}, 0, 10).head == store.Head());
  Put(store, "a");
  const auto newest = Put(store, "elsewhere");
  CHECK(store.Read({"a"}, 0, 10).head == newest);
}

TEST_CASE("a read of a channel nobody published to is empty and not truncated") {
  FakeWallClock time;
  MemoryStore store({}, time.AsWallClock());
  const auto id = Put(store, "a");
  ReadResult read = store.Read({"never"}, id, 10);
  CHECK(read.status == StoreStatus::kOk);
  CHECK(read.items.empty());
  CHECK_FALSE(read.truncated);
}

TEST_CASE("the oldest items are dropped past max_items per channel") {
  FakeWallClock time;
  MemoryStore store({.max_items = 3}, time.AsWallClock());
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(Put(store, "a"));
  const auto other = Put(store, "b");
  CHECK(Ids(store.Read({"a"}, 0, 100)) == std::vector{ids[2], ids[3], ids[4]});
  // The limit is per channel: "b" keeps its item although "a" is full.
  CHECK(Ids(store.Read({"b"}, 0, 100)) == std::vector{other});
}

TEST_CASE("a cursor before evicted items reads as truncated") {
  FakeWallClock time;
  MemoryStore store({.max_items = 2}, time.AsWallClock());
  const auto seen = Put(store, "a");
  Put(store, "a");  // Evicted before anyone read it.
  const auto third = Put(store, "a");
  const auto fourth = Put(store, "a");
  ReadResult read = store.Read({"a"}, seen, 100);
  CHECK(read.truncated);
  CHECK(Ids(read) == std::vector{third, fourth});
}

TEST_CASE("a cursor at the newest evicted item is not truncated") {
  FakeWallClock time;
  MemoryStore store({.max_items = 2}, time.AsWallClock());
  Put(store, "a");
  const auto second = Put(store, "a");
  const auto third = Put(store, "a");
  const auto fourth = Put(store, "a");
  ReadResult read = store.Read({"a"}, second, 100);
  CHECK_FALSE(read.truncated);
  CHECK(Ids(read) == std::vector{third, fourth});
}

TEST_CASE("since=0 is never truncated, even after evictions") {
  FakeWallClock time;
  MemoryStore store({.max_items = 1}, time.AsWallClock());
  for (int i = 0; i < 5; ++i) Put(store, "a");
  ReadResult read = store.Read({"a"}, 0, 100);
  CHECK_FALSE(read.truncated);
  CHECK(read.items.size() == 1);
}

TEST_CASE("the exact current cursor is not truncated") {
  FakeWallClock time;
  MemoryStore store({.max_items = 1}, time.AsWallClock());
  for (int i = 0; i < 3; ++i) Put(store, "a");
  ReadResult read = store.Read({"a"}, store.Head(), 100);
  CHECK_FALSE(read.truncated);
  CHECK(read.items.empty());
}

TEST_CASE("the cursor of a fresh store's head is not truncated") {
  FakeWallClock time;
  MemoryStore store({}, time.AsWallClock());
  ReadResult read = store.Read({"a"}, store.Head(), 100);
  CHECK_FALSE(read.truncated);
  CHECK(read.items.empty());
}

TEST_CASE("a cursor predating the store reads as truncated with everything retained") {
  FakeWallClock time;
  const std::uint64_t from_previous_process = static_cast<std::uint64_t>(time.now_us) - 10;
  time.now_us += kSecondUs;
  MemoryStore store({}, time.AsWallClock());
  const auto a = Put(store, "a");
  const auto b = Put(store, "a");
  ReadResult read = store.Read({"a"}, from_previous_process, 100);
  CHECK(read.truncated);
  CHECK(Ids(read) == std::vector{a, b});
}

TEST_CASE("a cursor beyond anything issued reads as truncated with everything retained") {
  FakeWallClock time;
  MemoryStore store({}, time.AsWallClock());
  const auto a = Put(store, "a");
  const auto b = Put(store, "a");
  // A previous process whose clock ran ahead handed out this cursor.
  ReadResult read = store.Read({"a"}, b + 1'000'000, 100);
  CHECK(read.truncated);
  CHECK(Ids(read) == std::vector{a, b});
}

TEST_CASE("items older than max_age are dropped on read") {
  FakeWallClock time;
  MemoryStore store({.max_items = 100, .max_age_us = 10 * kSecondUs}, time.AsWallClock());
  Put(store, "a");
  time.now_us += 5 * kSecondUs;
  const auto young = Put(store, "a");
  time.now_us += 6 * kSecondUs;
  CHECK(Ids(store.Read({"a"}, 0, 100)) == std::vector{young});
}

TEST_CASE("items older than max_age are dropped on append") {
  FakeWallClock time;
  MemoryStore store({.max_items = 100, .max_age_us = 10 * kSecondUs}, time.AsWallClock());
  Put(store, "a");
  time.now_us += 11 * kSecondUs;
  const auto fresh = Put(store, "a");
  CHECK(Ids(store.Read({"a"}, 0, 100)) == std::vector{fresh});
}

TEST_CASE("items younger than max_age are kept") {
  FakeWallClock time;
  MemoryStore store({.max_items = 100, .max_age_us = 10 * kSecondUs}, time.AsWallClock());
  const auto a = Put(store, "a");
  time.now_us += 9 * kSecondUs;
  ReadResult read = store.Read({"a"}, 0, 100);
  CHECK(Ids(read) == std::vector{a});
}

TEST_CASE("a cursor before items dropped for age reads as truncated") {
  FakeWallClock time;
  MemoryStore store({.max_items = 100, .max_age_us = 10 * kSecondUs}, time.AsWallClock());
  const auto seen = Put(store, "a");
  time.now_us += kSecondUs;
  Put(store, "a");  // Never seen, will expire.
  time.now_us += 5 * kSecondUs;
  const auto young = Put(store, "a");
  time.now_us += 6 * kSecondUs;
  ReadResult read = store.Read({"a"}, seen, 100);
  CHECK(read.truncated);
  CHECK(Ids(read) == std::vector{young});
}

TEST_CASE("a channel emptied by age is reclaimed but still reads as truncated") {
  FakeWallClock time;
  MemoryStore store({.max_items = 100, .max_age_us = 10 * kSecondUs}, time.AsWallClock());
  const auto before = Put(store, "keep");
  Put(store, "one-off");
  CHECK(store.ChannelCount() == 2);
  time.now_us += 11 * kSecondUs;
  ReadResult read = store.Read({"one-off"}, before, 100);
  CHECK(store.ChannelCount() == 1);
  CHECK(read.items.empty());
  CHECK(read.truncated);
  // Asked again, the channel is unknown, yet the loss is still reported.
  CHECK(store.Read({"one-off"}, before, 100).truncated);
}

TEST_CASE("an append long after max_age keeps the new item") {
  FakeWallClock time;
  MemoryStore store({.max_items = 100, .max_age_us = kSecondUs}, time.AsWallClock());
  Put(store, "a");
  time.now_us += 60 * kSecondUs;
  AppendResult appended = store.Append({"a", "", "2"});
  REQUIRE(appended.item);
  CHECK(appended.item->data_json == "2");
  CHECK(store.Read({"a"}, 0, 10).items.size() == 1);
}

TEST_CASE("an append survives a clock that jumps past max_age while appending") {
  // Each reading of the clock jumps further than max_age, as a clock stepped forward by an
  // administrator mid-append would: the new item is expired by the time eviction runs.
  std::int64_t now_us = kSomeTimeUs;
  MemoryStore store({.max_items = 100, .max_age_us = kSecondUs}, [&now_us] {
    now_us += 10 * kSecondUs;
    return now_us;
  });
  AppendResult appended = store.Append({"a", "", "42"});
  REQUIRE(appended.status == StoreStatus::kOk);
  REQUIRE(appended.item);
  CHECK(appended.item->channel == "a");
  CHECK(appended.item->data_json == "42");
}

}  // namespace
}  // namespace livefeed
