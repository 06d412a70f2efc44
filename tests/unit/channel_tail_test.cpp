#include "store/channel_tail.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <deque>
#include <random>

#include "core/id_clock.h"
#include "store/read_merge.h"

namespace livefeed {
namespace {

ItemPtr ItemAt(std::uint64_t id, const std::string& channel = "c") {
  return MakeItem(id, 0, ItemDraft{channel, "", "1"});
}

ReadRequest After(std::uint64_t since, std::vector<std::string> channels = {"c"}) {
  ReadRequest request;
  request.channels = std::move(channels);
  request.since = since;
  return request;
}

std::vector<std::uint64_t> Ids(const ReadResult& result) {
  std::vector<std::uint64_t> ids;
  for (const ItemPtr& item : result.items) ids.push_back(item->id);
  return ids;
}

TEST_CASE("tail: a channel never read is not answered from memory") {
  ChannelTail tail({});
  CHECK_FALSE(tail.Read(After(10), 20, 1, 0));
}

TEST_CASE("tail: a fill from Redis answers later cursors at or after it") {
  ChannelTail tail({});
  tail.Fill("c", 10, {ItemAt(12), ItemAt(15)}, 0, 20, 20, 0);
  auto result = tail.Read(After(10), 20, 1, 0);
  REQUIRE(result);
  CHECK(Ids(*result) == std::vector<std::uint64_t>{12, 15});
  CHECK(result->head == 20);
  CHECK_FALSE(result->truncated);
  REQUIRE(tail.Read(After(12), 20, 1, 0));
  CHECK(Ids(*tail.Read(After(12), 20, 1, 0)) == std::vector<std::uint64_t>{15});
  // Older than the fill's cursor: Redis may hold more.
  CHECK_FALSE(tail.Read(After(9), 20, 1, 0));
  CHECK_FALSE(tail.Read(After(0), 20, 1, 0));
}

TEST_CASE("tail: announcements extend it, skipping what the fill brought") {
  ChannelTail tail({});
  tail.Fill("c", 10, {ItemAt(12)}, 0, 14, 12, 0);
  tail.Append("c", {ItemAt(12), ItemAt(16)}, 0, 0);
  auto result = tail.Read(After(10), 16, 1, 0);
  REQUIRE(result);
  CHECK(Ids(*result) == std::vector<std::uint64_t>{12, 16});
}

TEST_CASE("tail: nothing above the applied head is answered") {
  ChannelTail tail({});
  tail.Fill("c", 10, {ItemAt(12), ItemAt(30)}, 0, 30, 20, 0);
  auto result = tail.Read(After(10), 20, 1, 0);
  REQUIRE(result);
  CHECK(Ids(*result) == std::vector<std::uint64_t>{12});
  // A cursor beyond what this node knows goes to Redis.
  CHECK_FALSE(tail.Read(After(25), 20, 1, 0));
}

TEST_CASE("tail: a fill that ends before the applied head would leave a hole") {
  ChannelTail tail({});
  tail.Fill("c", 10, {ItemAt(12)}, 0, 15, 20, 0);
  CHECK_FALSE(tail.Holds("c"));
}

TEST_CASE("tail: a fill reaching back and past what it holds keeps every item it brought") {
  ChannelTail tail({});
  tail.Fill("c", 10, {ItemAt(12)}, 0, 14, 12, 0);
  // An older cursor's read, answered by Redis after item 16 was published but before its
  // announcement came: the items it brought after the tail's end are kept too.
  tail.Fill("c", 5, {ItemAt(7), ItemAt(12), ItemAt(16)}, 0, 16, 14, 0);
  tail.Append("c", {ItemAt(16)}, 0, 0);
  tail.Append("c", {ItemAt(18)}, 0, 0);
  auto result = tail.Read(After(5), 18, 1, 0);
  REQUIRE(result);
  CHECK(Ids(*result) == std::vector<std::uint64_t>{7, 12, 16, 18});
}

TEST_CASE("tail: holding all Redis retains answers since=0, mirroring trims") {
  ChannelTail tail({});
  tail.Fill("c", 0, {ItemAt(5), ItemAt(6)}, 4, 10, 10, 0);
  auto all = tail.Read(After(0), 10, 1, 0);
  REQUIRE(all);
  CHECK(Ids(*all) == std::vector<std::uint64_t>{5, 6});
  tail.Append("c", {ItemAt(11)}, 5, 0);  // Redis trimmed item 5.
  auto later = tail.Read(After(0), 11, 1, 0);
  REQUIRE(later);
  CHECK(Ids(*later) == std::vector<std::uint64_t>{6, 11});
  auto old = tail.Read(After(3), 11, 1, 0);
  REQUIRE(old);
  CHECK(old->truncated);
  CHECK(Ids(*old) == std::vector<std::uint64_t>{6, 11});
}

TEST_CASE("tail: a cursor from before the data set's origin goes to Redis") {
  ChannelTail tail({});
  tail.Fill("c", 0, {ItemAt(50)}, 0, 60, 60, 0);
  CHECK_FALSE(tail.Read(After(5), 60, 40, 0));
}

TEST_CASE("tail: its own count bound sends older cursors to Redis") {
  TailLimits limits;
  limits.max_items = 2;
  ChannelTail tail(limits);
  tail.Fill("c", 0, {}, 0, 10, 10, 0);
  tail.Append("c", {ItemAt(11), ItemAt(12), ItemAt(13)}, 0, 0);
  CHECK_FALSE(tail.Read(After(0), 13, 1, 0));
  CHECK_FALSE(tail.Read(After(10), 13, 1, 0));
  auto result = tail.Read(After(11), 13, 1, 0);
  REQUIRE(result);
  CHECK(Ids(*result) == std::vector<std::uint64_t>{12, 13});
}

TEST_CASE("tail: expired items go, and cursors before them are truncated") {
  TailLimits limits;
  limits.max_age_us = 100;
  ChannelTail tail(limits);
  tail.Fill("c", 0, {ItemAt(1000), ItemAt(1050)}, 0, 1100, 1100, 1000);
  auto result = tail.Read(After(900), 1100, 1, 1120);
  REQUIRE(result);
  CHECK(result->truncated);
  CHECK(Ids(*result) == std::vector<std::uint64_t>{1050});
}

TEST_CASE("tail: the least recently read channel goes past the channel bound") {
  TailLimits limits;
  limits.max_channels = 2;
  ChannelTail tail(limits);
  tail.Fill("a", 0, {}, 0, 10, 10, 0);
  tail.Fill("b", 0, {}, 0, 10, 10, 0);
  REQUIRE(tail.Read(After(0, {"a"}), 10, 1, 0));
  tail.Fill("c", 0, {}, 0, 10, 10, 0);
  CHECK(tail.Holds("a"));
  CHECK_FALSE(tail.Holds("b"));
  CHECK(tail.Holds("c"));
}

TEST_CASE("tail: past the memory bound the least recently read channels go, not the filled one") {
  const std::size_t item = ItemAt(1)->footprint();  // As much as any one-digit id.
  TailLimits limits;
  limits.memory_limit = 5 * item;
  ChannelTail tail(limits);
  tail.Fill("a", 0, {ItemAt(1, "a"), ItemAt(2, "a")}, 0, 10, 10, 0);
  tail.Fill("b", 0, {ItemAt(3, "b"), ItemAt(4, "b")}, 0, 10, 10, 0);
  REQUIRE(tail.Read(After(0, {"a"}), 10, 1, 0));  // "b" is now the least recently read.
  tail.Fill("c", 0, {ItemAt(5, "c"), ItemAt(6, "c"), ItemAt(7, "c")}, 0, 10, 10, 0);
  CHECK(tail.bytes() <= limits.memory_limit);
  CHECK(tail.Holds("a"));
  CHECK_FALSE(tail.Holds("b"));
  CHECK_FALSE(tail.Read(After(0, {"b"}), 10, 1, 0));  // Forgotten: Redis answers it.
  // A channel bigger than the bound on its own is kept: it is the one being read.
  tail.Fill("d", 0,
            {ItemAt(1, "d"), ItemAt(2, "d"), ItemAt(3, "d"), ItemAt(4, "d"), ItemAt(5, "d"),
             ItemAt(6, "d")},
            0, 10, 10, 0);
  CHECK(tail.Holds("d"));
  CHECK(tail.channel_count() == 1);
  auto result = tail.Read(After(0, {"d"}), 10, 1, 0);
  REQUIRE(result);
  CHECK(result->items.size() == 6);
}

TEST_CASE("tail: its own byte bound sends older cursors to Redis") {
  const std::size_t item = ItemAt(11)->footprint();  // As much as 12 and 13.
  TailLimits limits;
  limits.max_bytes = 2 * item;
  ChannelTail tail(limits);
  tail.Fill("c", 0, {ItemAt(11), ItemAt(12)}, 0, 12, 12, 0);
  tail.Append("c", {ItemAt(13)}, 0, 0);
  CHECK_FALSE(tail.Read(After(10), 13, 1, 0));  // 11 is gone from memory, not from Redis.
  auto result = tail.Read(After(11), 13, 1, 0);
  REQUIRE(result);
  CHECK_FALSE(result->truncated);
  CHECK(Ids(*result) == std::vector<std::uint64_t>{12, 13});
}

TEST_CASE("tail: channels nobody read since the idle limit are forgotten") {
  ChannelTail tail({});
  tail.Fill("a", 0, {ItemAt(1, "a")}, 0, 10, 10, 100);
  tail.Fill("b", 0, {ItemAt(2, "b")}, 0, 10, 10, 100);
  REQUIRE(tail.Read(After(0, {"a"}), 10, 1, 300));
  tail.DropIdle(200);
  CHECK(tail.Holds("a"));
  CHECK_FALSE(tail.Holds("b"));
  CHECK(tail.bytes() == ItemAt(1, "a")->footprint());
  tail.DropIdle(301);
  CHECK(tail.channel_count() == 0);
  CHECK(tail.bytes() == 0);
}

TEST_CASE("tail: a multi-channel read is answered only when every channel is held") {
  ChannelTail tail({});
  tail.Fill("a", 0, {ItemAt(3, "a")}, 0, 10, 10, 0);
  CHECK_FALSE(tail.Read(After(0, {"a", "b"}), 10, 1, 0));
  tail.Fill("b", 0, {ItemAt(2, "b"), ItemAt(4, "b")}, 0, 10, 10, 0);
  auto result = tail.Read(After(0, {"a", "b"}), 10, 1, 0);
  REQUIRE(result);
  CHECK(Ids(*result) == std::vector<std::uint64_t>{2, 3, 4});
}

// One channel in Redis, trimmed by count like the backlog, and what a node hears of it:
// announcements in order, and read replies that may overtake them (another connection).
struct ChannelModel {
  static constexpr std::size_t kBacklog = 5;
  std::deque<std::uint64_t> retained;  // In Redis now.
  std::uint64_t redis_head = 0, redis_trimmed = 0, next_id = 10;
  struct Announcement {
    std::uint64_t id, trimmed;
  };
  std::deque<Announcement> announcements;  // Published, not yet applied by the node.
  struct Reply {
    std::uint64_t since, trimmed, upto;
    std::vector<ItemPtr> items;
  };
  std::deque<Reply> replies;  // Read by Redis, not yet back at the node.
  std::uint64_t node_head = 0;

  // No cursor at all, or one a little behind the node's head.
  std::uint64_t Cursor(std::mt19937& random) const {
    if (random() % 2) return 0;
    return node_head - std::min<std::uint64_t>(node_head, random() % 20);
  }

  void Publish(std::mt19937& random) {
    redis_head = next_id;
    next_id += 1 + random() % 3;
    retained.push_back(redis_head);
    if (retained.size() > kBacklog) {
      redis_trimmed = retained.front();
      retained.pop_front();
    }
    announcements.push_back({redis_head, redis_trimmed});
  }
  // What the read script answers: at most `limit` items after `since`.
  void ReadRedis(std::uint64_t since, std::size_t limit) {
    // Truncated, or beyond the head: never kept in a tail.
    if (since != 0 && (since < redis_trimmed || since > redis_head)) return;
    Reply reply{since, redis_trimmed, redis_head, {}};
    for (std::uint64_t id : retained) {
      if (id <= since) continue;
      if (reply.items.size() == limit) {
        reply.upto = reply.items.back()->id;  // Incomplete.
        break;
      }
      reply.items.push_back(ItemAt(id));
    }
    replies.push_back(std::move(reply));
  }
};

TEST_CASE("tail: whatever order reads and announcements come in, it never answers a hole") {
  for (unsigned seed = 1; seed <= 200; ++seed) {
    std::mt19937 random(seed);
    ChannelModel model;
    TailLimits limits;
    limits.max_items = ChannelModel::kBacklog;
    ChannelTail tail(limits);
    for (int step = 0; step < 400; ++step) {
      const unsigned what = random() % 4;
      if (what == 0) {
        model.Publish(random);
      } else if (what == 1 && !model.announcements.empty()) {
        const auto news = model.announcements.front();
        model.announcements.pop_front();
        if (random() % 8 == 0) {
          tail.Drop("c");  // Applied from the log, which carries no items.
        } else {
          tail.Append("c", {ItemAt(news.id)}, news.trimmed, 0);
        }
        model.node_head = news.id;
      } else if (what == 2) {
        model.ReadRedis(model.Cursor(random), 1 + random() % 4);
      } else if (!model.replies.empty()) {
        const ChannelModel::Reply& reply = model.replies.front();
        tail.Fill("c", reply.since, reply.items, reply.trimmed, reply.upto, model.node_head, 0);
        model.replies.pop_front();
      }
      // Any cursor the tail answers gets, in order, exactly the items Redis still holds up
      // to the node's head, besides items Redis has trimmed since the node last heard.
      const std::uint64_t since = model.Cursor(random);
      const std::optional<ReadResult> answer = tail.Read(After(since), model.node_head, 1, 0);
      if (!answer) continue;
      std::vector<std::uint64_t> want;
      for (std::uint64_t id : model.retained) {
        if (id > since && id <= model.node_head) want.push_back(id);
      }
      std::vector<std::uint64_t> got = Ids(*answer);
      REQUIRE(std::is_sorted(got.begin(), got.end()));
      // Items Redis trimmed after the node's last news may still be answered.
      got.erase(std::remove_if(got.begin(), got.end(),
                               [&](std::uint64_t id) { return id <= model.redis_trimmed; }),
                got.end());
      INFO("seed " << seed << ", step " << step << ", since " << since);
      REQUIRE(got == want);
    }
  }
}

TEST_CASE("merge: nothing past the end of an incomplete slice is answered") {
  std::vector<ChannelSlice> slices(2);
  slices[0].items = {ItemAt(1, "a"), ItemAt(5, "a")};
  slices[0].complete = false;  // Channel a may hold items after 5.
  slices[1].items = {ItemAt(2, "b"), ItemAt(7, "b")};
  ReadResult result;
  MergeSlices(slices, After(0, {"a", "b"}), kMaxId, &result);
  CHECK(Ids(result) == std::vector<std::uint64_t>{1, 2, 5});
  CHECK(result.more);
}

TEST_CASE("merge: bounded by count and bytes, never empty") {
  std::vector<ChannelSlice> slices(1);
  slices[0].items = {ItemAt(1), ItemAt(2), ItemAt(3)};
  ReadRequest request = After(0);
  request.max_items = 2;
  ReadResult by_count;
  MergeSlices(slices, request, kMaxId, &by_count);
  CHECK(Ids(by_count) == std::vector<std::uint64_t>{1, 2});
  CHECK(by_count.more);
  request.max_items = 10;
  request.max_bytes = 1;
  ReadResult by_bytes;
  MergeSlices(slices, request, kMaxId, &by_bytes);
  CHECK(Ids(by_bytes) == std::vector<std::uint64_t>{1});
  CHECK(by_bytes.more);
}

}  // namespace
}  // namespace livefeed
