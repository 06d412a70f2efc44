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

AppendResult Append(MemoryStore& store, ItemDraft draft) {
  AppendRequest request;
  request.drafts.push_back(std::move(draft));
  return store.Append(std::move(request));
}

std::uint64_t Put(MemoryStore& store, const std::string& channel, const std::string& data = "1") {
  return Append(store, {channel, "", data}).items.at(0)->id;
}

ReadResult Read(MemoryStore& store, std::vector<std::string> channels, std::uint64_t since,
                std::size_t limit, std::size_t max_bytes = SIZE_MAX) {
  return store.Read(ReadRequest{std::move(channels), since, limit, max_bytes});
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
  AppendResult appended = Append(store, {"news", "alert", R"({"a":1})"});
  REQUIRE(appended.status == StoreStatus::kOk);
  REQUIRE(appended.items.size() == 1);
  CHECK(appended.items.at(0)->id == static_cast<std::uint64_t>(time.now_us));
  CHECK(appended.items.at(0)->timestamp_ms == time.now_us / 1000);
  CHECK(appended.items.at(0)->channel == "news");
  CHECK(appended.items.at(0)->type == "alert");
  CHECK(appended.items.at(0)->data_json() == R"({"a":1})");
  CHECK(appended.items.at(0)->json == R"({"id":)" + std::to_string(appended.items.at(0)->id) +
                                          R"(,"timestamp":)" + std::to_string(time.now_us / 1000) +
                                          R"(,"channel":"news","type":"alert","data":{"a":1}})");
  CHECK(store.Head() == appended.items.at(0)->id);
}

TEST_CASE("a read returns only items after the cursor, in id order") {
  FakeWallClock time;
  MemoryStore store({}, time.AsWallClock());
  const auto a = Put(store, "c");
  const auto b = Put(store, "c");
  const auto c = Put(store, "c");
  CHECK(Ids(Read(store, {"c"}, 0, 100)) == std::vector{a, b, c});
  CHECK(Ids(Read(store, {"c"}, a, 100)) == std::vector{b, c});
  CHECK(Ids(Read(store, {"c"}, c, 100)).empty());
}

TEST_CASE("a read of several channels merges them in id order") {
  FakeWallClock time;
  MemoryStore store({}, time.AsWallClock());
  const auto a1 = Put(store, "a");
  const auto b1 = Put(store, "b");
  Put(store, "other");
  const auto a2 = Put(store, "a");
  const auto b2 = Put(store, "b");
  ReadResult read = Read(store, {"b", "a"}, 0, 100);
  CHECK(Ids(read) == std::vector{a1, b1, a2, b2});
  CHECK(Ids(Read(store, {"b", "a"}, b1, 100)) == std::vector{a2, b2});
}

TEST_CASE("a read returns at most `limit` items, the oldest first") {
  FakeWallClock time;
  MemoryStore store({}, time.AsWallClock());
  const auto a1 = Put(store, "a");
  const auto b1 = Put(store, "b");
  Put(store, "a");
  ReadResult read = Read(store, {"a", "b"}, 0, 2);
  CHECK(Ids(read) == std::vector{a1, b1});
  CHECK_FALSE(read.truncated);
}

TEST_CASE("a read reports the newest id issued as its head") {
  FakeWallClock time;
  MemoryStore store({}, time.AsWallClock());
  CHECK(Read(store, {"a"}, 0, 10).head == store.Head());
  Put(store, "a");
  const auto newest = Put(store, "elsewhere");
  CHECK(Read(store, {"a"}, 0, 10).head == newest);
}

TEST_CASE("a read of a channel nobody published to is empty and not truncated") {
  FakeWallClock time;
  MemoryStore store({}, time.AsWallClock());
  const auto id = Put(store, "a");
  ReadResult read = Read(store, {"never"}, id, 10);
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
  CHECK(Ids(Read(store, {"a"}, 0, 100)) == std::vector{ids[2], ids[3], ids[4]});
  // The limit is per channel: "b" keeps its item although "a" is full.
  CHECK(Ids(Read(store, {"b"}, 0, 100)) == std::vector{other});
}

TEST_CASE("a cursor before evicted items reads as truncated") {
  FakeWallClock time;
  MemoryStore store({.max_items = 2}, time.AsWallClock());
  const auto seen = Put(store, "a");
  Put(store, "a");  // Evicted before anyone read it.
  const auto third = Put(store, "a");
  const auto fourth = Put(store, "a");
  ReadResult read = Read(store, {"a"}, seen, 100);
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
  ReadResult read = Read(store, {"a"}, second, 100);
  CHECK_FALSE(read.truncated);
  CHECK(Ids(read) == std::vector{third, fourth});
}

TEST_CASE("since=0 is never truncated, even after evictions") {
  FakeWallClock time;
  MemoryStore store({.max_items = 1}, time.AsWallClock());
  for (int i = 0; i < 5; ++i) Put(store, "a");
  ReadResult read = Read(store, {"a"}, 0, 100);
  CHECK_FALSE(read.truncated);
  CHECK(read.items.size() == 1);
}

TEST_CASE("the exact current cursor is not truncated") {
  FakeWallClock time;
  MemoryStore store({.max_items = 1}, time.AsWallClock());
  for (int i = 0; i < 3; ++i) Put(store, "a");
  ReadResult read = Read(store, {"a"}, store.Head(), 100);
  CHECK_FALSE(read.truncated);
  CHECK(read.items.empty());
}

TEST_CASE("the cursor of a fresh store's head is not truncated") {
  FakeWallClock time;
  MemoryStore store({}, time.AsWallClock());
  ReadResult read = Read(store, {"a"}, store.Head(), 100);
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
  ReadResult read = Read(store, {"a"}, from_previous_process, 100);
  CHECK(read.truncated);
  CHECK(Ids(read) == std::vector{a, b});
}

TEST_CASE("a cursor beyond anything issued reads as truncated with everything retained") {
  FakeWallClock time;
  MemoryStore store({}, time.AsWallClock());
  const auto a = Put(store, "a");
  const auto b = Put(store, "a");
  // A previous process whose clock ran ahead handed out this cursor.
  ReadResult read = Read(store, {"a"}, b + 1'000'000, 100);
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
  CHECK(Ids(Read(store, {"a"}, 0, 100)) == std::vector{young});
}

TEST_CASE("items older than max_age are dropped on append") {
  FakeWallClock time;
  MemoryStore store({.max_items = 100, .max_age_us = 10 * kSecondUs}, time.AsWallClock());
  Put(store, "a");
  time.now_us += 11 * kSecondUs;
  const auto fresh = Put(store, "a");
  CHECK(Ids(Read(store, {"a"}, 0, 100)) == std::vector{fresh});
}

TEST_CASE("items younger than max_age are kept") {
  FakeWallClock time;
  MemoryStore store({.max_items = 100, .max_age_us = 10 * kSecondUs}, time.AsWallClock());
  const auto a = Put(store, "a");
  time.now_us += 9 * kSecondUs;
  ReadResult read = Read(store, {"a"}, 0, 100);
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
  ReadResult read = Read(store, {"a"}, seen, 100);
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
  ReadResult read = Read(store, {"one-off"}, before, 100);
  CHECK(store.ChannelCount() == 1);
  CHECK(read.items.empty());
  CHECK(read.truncated);
  // Asked again, the channel is unknown, yet the loss is still reported.
  CHECK(Read(store, {"one-off"}, before, 100).truncated);
}

TEST_CASE("an append long after max_age keeps the new item") {
  FakeWallClock time;
  MemoryStore store({.max_items = 100, .max_age_us = kSecondUs}, time.AsWallClock());
  Put(store, "a");
  time.now_us += 60 * kSecondUs;
  AppendResult appended = Append(store, {"a", "", "2"});
  REQUIRE(appended.items.size() == 1);
  CHECK(appended.items.at(0)->data_json() == "2");
  CHECK(Read(store, {"a"}, 0, 10).items.size() == 1);
}

TEST_CASE("an append survives a clock that jumps past max_age while appending") {
  // Each reading of the clock jumps further than max_age, as a clock stepped forward by an
  // administrator mid-append would: the new item is expired by the time eviction runs.
  std::int64_t now_us = kSomeTimeUs;
  MemoryStore store({.max_items = 100, .max_age_us = kSecondUs}, [&now_us] {
    now_us += 10 * kSecondUs;
    return now_us;
  });
  AppendResult appended = Append(store, {"a", "", "42"});
  REQUIRE(appended.status == StoreStatus::kOk);
  REQUIRE(appended.items.size() == 1);
  CHECK(appended.items.at(0)->channel == "a");
  CHECK(appended.items.at(0)->data_json() == "42");
}

AppendRequest Batch(std::vector<ItemDraft> drafts, std::string key = "", std::string print = "") {
  AppendRequest request;
  request.drafts = std::move(drafts);
  request.idempotency_key = std::move(key);
  request.fingerprint = std::move(print);
  return request;
}

TEST_CASE("a read stops at max_bytes but always returns at least one item, and says more follow") {
  FakeWallClock time;
  MemoryStore store({}, time.AsWallClock());
  const auto a = Put(store, "c", std::string(100, '1'));
  const auto b = Put(store, "c", std::string(100, '2'));
  const auto c = Put(store, "c", std::string(100, '3'));
  // Each item's JSON is about 170 bytes.
  ReadResult first = Read(store, {"c"}, 0, 100, 400);
  CHECK(Ids(first) == std::vector{a, b});
  CHECK(first.more);
  ReadResult tiny = Read(store, {"c"}, 0, 100, 1);
  CHECK(Ids(tiny) == std::vector{a});
  CHECK(tiny.more);
  ReadResult rest = Read(store, {"c"}, b, 100, 400);
  CHECK(Ids(rest) == std::vector{c});
  CHECK_FALSE(rest.more);
}

TEST_CASE("a read of several channels stops at its limits in id order") {
  FakeWallClock time;
  MemoryStore store({}, time.AsWallClock());
  const auto a = Put(store, "x");
  const auto b = Put(store, "y");
  const auto c = Put(store, "x");
  const auto d = Put(store, "y");
  ReadResult read = Read(store, {"y", "x"}, 0, 3);
  CHECK(Ids(read) == std::vector{a, b, c});
  CHECK(read.more);
  CHECK(Ids(Read(store, {"y", "x"}, c, 3)) == std::vector{d});
}

TEST_CASE("a channel keeps at most max_bytes: the oldest go, and a reader before them is told") {
  FakeWallClock time;
  const std::string data(1000, '1');
  MemoryStore store({.max_bytes = 3 * 1300}, time.AsWallClock());
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(Put(store, "c", data));
  ReadResult read = Read(store, {"c"}, ids[0], 100);
  CHECK(read.truncated);
  CHECK(read.items.size() == 3);
  CHECK(Ids(read).back() == ids[4]);
  CHECK(store.RetainedBytes() <= 3 * 1300);
  CHECK(store.Health().evictions == 2);
}

TEST_CASE("the memory limit evicts the globally oldest items, whatever their channel") {
  FakeWallClock time;
  const std::string data(1000, '1');
  MemoryStore store({.memory_limit = 3 * 1300}, time.AsWallClock());
  const auto a1 = Put(store, "a", data);
  const auto b1 = Put(store, "b", data);
  const auto a2 = Put(store, "a", data);
  const auto b2 = Put(store, "b", data);  // a1 goes.
  const auto c1 = Put(store, "c", data);  // b1 goes.
  CHECK(Ids(Read(store, {"a"}, 0, 100)) == std::vector{a2});
  CHECK(Read(store, {"a"}, a1 - 1, 100).truncated);
  CHECK(Ids(Read(store, {"b"}, 0, 100)) == std::vector{b2});
  CHECK(Read(store, {"b"}, b1 - 1, 100).truncated);
  CHECK(Ids(Read(store, {"c"}, 0, 100)) == std::vector{c1});
  CHECK(store.RetainedBytes() <= 3 * 1300);
}

TEST_CASE("a channel emptied by the memory limit is reclaimed, and its loss still reported") {
  FakeWallClock time;
  const std::string data(1000, '1');
  MemoryStore store({.memory_limit = 2 * 1300}, time.AsWallClock());
  const auto a1 = Put(store, "a", data);
  Put(store, "b", data);
  Put(store, "b", data);  // a1 goes, and "a" with it.
  CHECK(store.ChannelCount() == 1);
  CHECK(Read(store, {"a"}, a1 - 1, 100).truncated);
}

TEST_CASE("a publish that only evicting itself could keep is refused, and nothing is kept") {
  FakeWallClock time;
  MemoryStore store({.max_bytes = 2000, .memory_limit = 4000}, time.AsWallClock());
  const auto kept = Put(store, "c", "1");
  AppendResult big = Append(store, {"c", "", std::string(3000, '1')});
  CHECK(big.status == StoreStatus::kTooLarge);
  CHECK(big.items.empty());
  AppendResult batch = store.Append(Batch({{"a", "", std::string(1500, '1')},
                                           {"b", "", std::string(1500, '1')},
                                           {"d", "", std::string(1500, '1')}}));
  CHECK(batch.status == StoreStatus::kTooLarge);
  CHECK(Ids(Read(store, {"c", "a", "b", "d"}, 0, 100)) == std::vector{kept});
}

TEST_CASE("a batch gets consecutive ids, in order, and is kept whole or not at all") {
  FakeWallClock time;
  MemoryStore store({.max_channels = 2}, time.AsWallClock());
  AppendResult batch = store.Append(Batch({{"a", "", "1"}, {"b", "", "2"}, {"a", "", "3"}}));
  REQUIRE(batch.status == StoreStatus::kOk);
  REQUIRE(batch.items.size() == 3);
  CHECK(batch.items[1]->id == batch.items[0]->id + 1);
  CHECK(batch.items[2]->id == batch.items[0]->id + 2);
  CHECK(batch.items[2]->channel == "a");
  // A third channel is past the limit: the whole batch is refused.
  AppendResult refused = store.Append(Batch({{"a", "", "4"}, {"c", "", "5"}}));
  CHECK(refused.status == StoreStatus::kFull);
  CHECK(Read(store, {"a", "b", "c"}, 0, 100).items.size() == 3);
}

TEST_CASE("an idempotency key replays the first publish, another request under it conflicts") {
  FakeWallClock time;
  MemoryStore store({}, time.AsWallClock());
  AppendResult first = store.Append(Batch({{"c", "", "1"}, {"c", "", "2"}}, "k", "print-1"));
  AppendResult again = store.Append(Batch({{"c", "", "1"}, {"c", "", "2"}}, "k", "print-1"));
  REQUIRE(first.status == StoreStatus::kOk);
  REQUIRE(again.status == StoreStatus::kOk);
  CHECK(again.replayed);
  CHECK(Ids(ReadResult{.items = again.items}) == Ids(ReadResult{.items = first.items}));
  CHECK(store.Append(Batch({{"c", "", "9"}}, "k", "print-2")).status == StoreStatus::kKeyConflict);
  CHECK(Read(store, {"c"}, 0, 100).items.size() == 2);
}

TEST_CASE("an idempotency key is forgotten after the window") {
  FakeWallClock time;
  MemoryStore store({.idempotency_window_us = 10 * kSecondUs}, time.AsWallClock());
  store.Append(Batch({{"c", "", "1"}}, "k", "p"));
  time.now_us += 11 * kSecondUs;
  AppendResult later = store.Append(Batch({{"c", "", "1"}}, "k", "p"));
  CHECK_FALSE(later.replayed);
  CHECK(Read(store, {"c"}, 0, 100).items.size() == 2);
}

TEST_CASE("the listener hears of each channel of a publish once, with its newest id") {
  FakeWallClock time;
  MemoryStore store({}, time.AsWallClock());
  std::vector<std::pair<std::string, std::uint64_t>> heard;
  store.SetListener([&](const std::string& channel, std::uint64_t newest) {
    heard.emplace_back(channel, newest);
  });
  AppendResult batch = store.Append(Batch({{"a", "", "1"}, {"b", "", "2"}, {"a", "", "3"}}));
  CHECK(heard == std::vector<std::pair<std::string, std::uint64_t>>{{"b", batch.items[1]->id},
                                                                    {"a", batch.items[2]->id}});
  heard.clear();
  store.Append(Batch({{"a", "", "1"}}, "", ""));
  CHECK(heard.size() == 1);
  // A refused publish and a replay are news to nobody.
  heard.clear();
  MemoryStore small({.max_channels = 1}, time.AsWallClock());
  small.SetListener(
      [&](const std::string& channel, std::uint64_t n) { heard.emplace_back(channel, n); });
  small.Append(Batch({{"a", "", "1"}}, "k", "p"));
  heard.clear();
  small.Append(Batch({{"b", "", "1"}}));
  small.Append(Batch({{"a", "", "1"}}, "k", "p"));
  CHECK(heard.empty());
}

TEST_CASE("channels are listed in name order, paged after a name") {
  FakeWallClock time;
  MemoryStore store({}, time.AsWallClock());
  Put(store, "b");
  Put(store, "a");
  const auto c = Put(store, "c");
  Put(store, "b");
  std::vector<ChannelStats> page = store.Channels("", 2);
  REQUIRE(page.size() == 2);
  CHECK(page[0].channel == "a");
  CHECK(page[1].channel == "b");
  CHECK(page[1].items == 2);
  std::vector<ChannelStats> next = store.Channels("b", 2);
  REQUIRE(next.size() == 1);
  CHECK(next[0].channel == "c");
  CHECK(next[0].head == c);
  CHECK(next[0].last_publish_ms == time.now_us / 1000);
}

}  // namespace
}  // namespace livefeed
