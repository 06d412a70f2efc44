// The Redis store against a real redis-server started here, driven through the Store
// interface from two RedisStore instances in one process: two nodes of one cluster.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <set>

#include "redis/redis_test_support.h"
#include "support/tcp_proxy.h"

namespace livefeed::testing {
namespace {

bool StrictlyIncreasing(const std::vector<std::uint64_t>& ids) {
  return std::adjacent_find(ids.begin(), ids.end(), std::greater_equal<>()) == ids.end();
}

// Issues every request before waiting for any (so that the store groups them into few
// script calls), then waits for all; the results in request order.
std::vector<AppendResult> AppendAll(Store& store, std::vector<AppendRequest> requests) {
  std::vector<std::future<AppendResult>> futures;
  for (AppendRequest& request : requests) {
    auto promise = std::make_shared<std::promise<AppendResult>>();
    futures.push_back(promise->get_future());
    std::optional<AppendResult> now =
        store.Append(std::move(request), [promise](AppendResult r) { promise->set_value(r); });
    if (now) promise->set_value(*now);
  }
  std::vector<AppendResult> results;
  for (auto& future : futures) {
    REQUIRE(future.wait_for(kDeadline) == std::future_status::ready);
    results.push_back(future.get());
  }
  return results;
}

std::vector<std::uint64_t> PublishSeries(Store& store, const std::string& channel, int count) {
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < count; ++i) {
    AppendResult result = AppendNow(store, Drafts(channel, {std::to_string(i)}));
    REQUIRE(result.status == StoreStatus::kOk);
    ids.push_back(result.items[0]->id);
  }
  return ids;
}

TEST_CASE("an item published on node A is read on node B") {
  RedisProcess redis;
  Node a(TestOptions(redis.port()), "news");
  Node b(TestOptions(redis.port()), "news");
  REQUIRE(WaitUntil([&] { return a.Up() && b.Up(); }));
  b.FollowFrom(b.store().Head());

  AppendResult published = AppendNow(a.store(), Drafts("news", {R"({"text":"Goal!"})"}));
  REQUIRE(published.status == StoreStatus::kOk);
  REQUIRE(published.items.size() == 1);
  const ItemPtr& item = published.items[0];
  CHECK(item->id < kMaxId);

  REQUIRE(b.WaitForReceived(1));
  CHECK(b.received() == std::vector<std::uint64_t>{item->id});
  ReadAnswer answer = ReadNow(b.store(), {"news"}, item->id - 1);
  REQUIRE(answer.result.items.size() == 1);
  CHECK(answer.result.items[0]->json == item->json);
  CHECK(answer.result.items[0]->data_json() == R"({"text":"Goal!"})");
  CHECK(b.store().Head() >= item->id);
  const std::vector<ChannelStats> channels = b.store().Channels("", 10);
  REQUIRE(channels.size() == 1);
  CHECK(channels[0].channel == "news");
  CHECK(channels[0].head == item->id);
}

TEST_CASE("a node started after publishes lists the channels Redis holds") {
  RedisProcess redis;
  std::vector<std::uint64_t> ids;
  {
    Node a(TestOptions(redis.port()), "earlier");
    REQUIRE(WaitUntil([&] { return a.Up(); }));
    ids = PublishSeries(a.store(), "earlier", 3);
  }
  // B never hears these announced: it learns of the channel from its first sync.
  Node b(TestOptions(redis.port()), "earlier");
  std::vector<ChannelStats> channels;
  REQUIRE(WaitUntil([&] {
    channels = b.store().Channels("", 10);
    return !channels.empty();
  }));
  REQUIRE(channels.size() == 1);
  CHECK(channels[0].channel == "earlier");
  CHECK(channels[0].items == 3);
  CHECK(channels[0].head == ids.back());
  CHECK(channels[0].last_publish_ms > 0);
}

TEST_CASE("a batch gets consecutive ids, all or nothing") {
  RedisProcess redis;
  Node a(TestOptions(redis.port()), "x");
  REQUIRE(WaitUntil([&] { return a.Up(); }));
  AppendRequest request = Drafts("x", {"1", "2"});
  request.drafts.push_back({"y", "kind", "\"three\""});
  AppendResult result = AppendNow(a.store(), request);
  REQUIRE(result.status == StoreStatus::kOk);
  REQUIRE(result.items.size() == 3);
  CHECK(result.items[1]->id == result.items[0]->id + 1);
  CHECK(result.items[2]->id == result.items[0]->id + 2);
  CHECK(result.items[2]->type == "kind");
  ReadAnswer both = ReadNow(a.store(), {"x", "y"}, 0);
  CHECK(Ids(both.result.items) == Ids(result.items));

  RedisStoreOptions small = TestOptions(redis.port());
  small.limits.max_items = 2;
  Node b(small, "x");
  REQUIRE(WaitUntil([&] { return b.Up(); }));
  // Three items for a channel that keeps two: refused whole, nothing appended.
  CHECK(AppendNow(b.store(), Drafts("z", {"1", "2", "3"})).status == StoreStatus::kTooLarge);
  CHECK(ReadNow(b.store(), {"z"}, 0).result.items.empty());
}

TEST_CASE("a node starts while Redis is unreachable and comes up once it is there") {
  const int port = FreeLoopbackPort();
  Node a(TestOptions(port), "c");
  // Down, and saying why, without blocking anyone.
  REQUIRE(WaitUntil([&] { return a.store().Health().errors > 0; }));
  StoreHealth health = a.store().Health();
  CHECK_FALSE(health.up);
  CHECK_FALSE(health.detail.empty());
  CHECK(AppendNow(a.store(), Drafts("c", {"1"})).status == StoreStatus::kUnavailable);
  CHECK(ReadNow(a.store(), {"c"}, 0).result.status == StoreStatus::kUnavailable);

  RedisProcess redis(false, port);
  REQUIRE(WaitUntil([&] { return a.Up(); }));
  CHECK(AppendNow(a.store(), Drafts("c", {"1"})).status == StoreStatus::kOk);
}

TEST_CASE("concurrent publishers on two nodes: increasing ids, every item once, in order") {
  RedisProcess redis;
  Node a(TestOptions(redis.port()), "race");
  Node b(TestOptions(redis.port()), "race");
  REQUIRE(WaitUntil([&] { return a.Up() && b.Up(); }));
  a.FollowFrom(a.store().Head());
  b.FollowFrom(b.store().Head());

  constexpr int kEach = 150;
  std::vector<std::uint64_t> from_a, from_b;
  std::thread publisher_a([&] { from_a = PublishSeries(a.store(), "race", kEach); });
  std::thread publisher_b([&] { from_b = PublishSeries(b.store(), "race", kEach); });
  publisher_a.join();
  publisher_b.join();

  std::vector<std::uint64_t> all = from_a;
  all.insert(all.end(), from_b.begin(), from_b.end());
  std::sort(all.begin(), all.end());
  CHECK(StrictlyIncreasing(from_a));
  CHECK(StrictlyIncreasing(from_b));
  CHECK(std::set<std::uint64_t>(all.begin(), all.end()).size() == all.size());

  REQUIRE(a.WaitForReceived(all.size()));
  REQUIRE(b.WaitForReceived(all.size()));
  CHECK(a.received() == all);
  CHECK(b.received() == all);
}

TEST_CASE("publishes issued at once on two nodes: each its own outcome, every item once") {
  RedisProcess redis;
  Node a(TestOptions(redis.port()), "burst");
  Node b(TestOptions(redis.port()), "burst");
  REQUIRE(WaitUntil([&] { return a.Up() && b.Up(); }));
  a.FollowFrom(a.store().Head());
  b.FollowFrom(b.store().Head());

  // Plain publishes, some also on a second channel, one Idempotency-Key shared by both
  // nodes, and on A a key reused with another body and a publish too large for a channel.
  auto requests = [](const std::string& node) {
    std::vector<AppendRequest> out;
    for (int i = 0; i < 300; ++i) {
      const std::string data = "\"" + node + std::to_string(i) + "\"";
      if (i % 10 == 0) {
        out.push_back(Drafts("burst", {"\"shared\""}, "shared-key", "digest"));
      } else if (i % 7 == 3) {
        AppendRequest two = Drafts("burst", {data});
        two.drafts.push_back({"other", "", data});
        out.push_back(std::move(two));
      } else {
        out.push_back(Drafts("burst", {data}));
      }
    }
    return out;
  };
  std::vector<AppendRequest> for_a = requests("a");
  for_a.insert(for_a.begin() + 5, Drafts("burst", {"1"}, "a-key", "first"));
  for_a.insert(for_a.begin() + 150, Drafts("burst", {"2"}, "a-key", "second"));
  for_a.push_back(Drafts("big", std::vector<std::string>(1001, "0")));
  std::vector<AppendRequest> for_b = requests("b");
  const std::vector<AppendRequest> sent_a = for_a, sent_b = for_b;

  std::vector<AppendResult> from_a, from_b;
  std::thread publisher_a([&] { from_a = AppendAll(a.store(), std::move(for_a)); });
  std::thread publisher_b([&] { from_b = AppendAll(b.store(), std::move(for_b)); });
  publisher_a.join();
  publisher_b.join();

  std::vector<std::uint64_t> burst, shared;
  std::size_t shared_first = 0;
  auto check = [&](const std::vector<AppendRequest>& sent, const std::vector<AppendResult>& got) {
    REQUIRE(got.size() == sent.size());
    std::vector<std::uint64_t> mine;  // This node's new items, in the order it sent them.
    for (std::size_t i = 0; i < got.size(); ++i) {
      const AppendRequest& request = sent[i];
      const AppendResult& result = got[i];
      if (request.drafts.size() > 1000) {
        CHECK(result.status == StoreStatus::kTooLarge);
      } else if (request.fingerprint == "second") {
        CHECK(result.status == StoreStatus::kKeyConflict);
      } else {
        REQUIRE(result.status == StoreStatus::kOk);
        REQUIRE(result.items.size() == request.drafts.size());
      }
      if (result.status != StoreStatus::kOk) continue;
      if (request.idempotency_key == "shared-key") {
        shared.push_back(result.items[0]->id);
        if (!result.replayed) ++shared_first;
        if (result.replayed) continue;
      }
      CHECK_FALSE(result.replayed);
      for (std::size_t d = 0; d < result.items.size(); ++d) {
        CHECK(result.items[d]->id == result.items[0]->id + d);
        CHECK(result.items[d]->channel == request.drafts[d].channel);
        CHECK(result.items[d]->data_json() == request.drafts[d].data_json);
      }
      mine.push_back(result.items[0]->id);
      burst.push_back(result.items[0]->id);
    }
    CHECK(StrictlyIncreasing(mine));
  };
  check(sent_a, from_a);
  check(sent_b, from_b);
  // The shared key made one item, whichever node got there first.
  CHECK(shared_first == 1);
  CHECK(std::set<std::uint64_t>(shared.begin(), shared.end()).size() == 1);

  std::sort(burst.begin(), burst.end());
  CHECK(std::set<std::uint64_t>(burst.begin(), burst.end()).size() == burst.size());
  REQUIRE(a.WaitForReceived(burst.size()));
  REQUIRE(b.WaitForReceived(burst.size()));
  CHECK(a.received() == burst);
  CHECK(b.received() == burst);
}

TEST_CASE("publishes issued at once beyond a channel's backlog are all kept in turn") {
  RedisProcess redis;
  RedisStoreOptions options = TestOptions(redis.port());
  options.limits.max_items = 3;
  Node a(std::move(options), "small");
  REQUIRE(WaitUntil([&] { return a.Up(); }));

  // A group carrying more than the backlog would trim its own items: the script defers
  // the rest to the next call, so every publish is kept (and answered) before it goes.
  std::vector<AppendRequest> requests;
  for (int i = 0; i < 10; ++i) requests.push_back(Drafts("small", {std::to_string(i)}));
  std::vector<AppendResult> results = AppendAll(a.store(), std::move(requests));
  std::vector<std::uint64_t> ids;
  for (const AppendResult& result : results) {
    REQUIRE(result.status == StoreStatus::kOk);
    ids.push_back(result.items.at(0)->id);
  }
  CHECK(StrictlyIncreasing(ids));
  ReadAnswer read = ReadNow(a.store(), {"small"}, 0);
  CHECK(Ids(read.result.items) == std::vector<std::uint64_t>(ids.end() - 3, ids.end()));
}

TEST_CASE("an Idempotency-Key used on A then on B answers the same items, once") {
  RedisProcess redis;
  Node a(TestOptions(redis.port()), "k");
  Node b(TestOptions(redis.port()), "k");
  REQUIRE(WaitUntil([&] { return a.Up() && b.Up(); }));

  AppendResult first = AppendNow(a.store(), Drafts("k", {"1", "2"}, "key-1", "digest-1"));
  REQUIRE(first.status == StoreStatus::kOk);
  CHECK_FALSE(first.replayed);
  AppendResult again = AppendNow(b.store(), Drafts("k", {"1", "2"}, "key-1", "digest-1"));
  REQUIRE(again.status == StoreStatus::kOk);
  CHECK(again.replayed);
  CHECK(Ids(again.items) == Ids(first.items));
  CHECK(again.items[1]->json == first.items[1]->json);

  AppendResult other = AppendNow(b.store(), Drafts("k", {"9"}, "key-1", "digest-2"));
  CHECK(other.status == StoreStatus::kKeyConflict);
  CHECK(Ids(ReadNow(a.store(), {"k"}, 0).result.items) == Ids(first.items));
}

TEST_CASE(
    "Redis killed: publishes are refused, health is down, and once it is back B gets the next "
    "item") {
  RedisProcess redis;
  Node a(TestOptions(redis.port()), "c");
  Node b(TestOptions(redis.port()), "c");
  REQUIRE(WaitUntil([&] { return a.Up() && b.Up(); }));
  b.FollowFrom(b.store().Head());
  const std::uint64_t before = AppendNow(a.store(), Drafts("c", {"1"})).items.at(0)->id;
  REQUIRE(b.WaitForReceived(1));
  // Received perhaps from Redis before B applied the announcement: wait until it has, and
  // until B's tail holds the channel (a read answered by Redis starts it).
  REQUIRE(WaitUntil([&] { return b.store().Head() >= before; }));
  ReadNow(b.store(), {"c"}, before);
  REQUIRE(b.store().TailHolds("c"));

  redis.Kill();
  REQUIRE(WaitUntil([&] { return !a.Up() && !b.Up(); }));
  CHECK(AppendNow(a.store(), Drafts("c", {"2"})).status == StoreStatus::kUnavailable);
  CHECK(AppendNow(b.store(), Drafts("c", {"2"})).status == StoreStatus::kUnavailable);
  const StoreHealth down = a.store().Health();
  CHECK(down.errors > 0);
  CHECK_FALSE(down.detail.empty());
  // What the tail holds is still served: held subscribers are not disturbed.
  CHECK(ReadNow(b.store(), {"c"}, before).result.status == StoreStatus::kOk);

  redis.Start();
  REQUIRE(WaitUntil([&] { return a.Up() && b.Up(); }));
  CHECK(a.store().Health().reconnects > 0);
  AppendResult next = AppendNow(a.store(), Drafts("c", {"3"}));
  REQUIRE(next.status == StoreStatus::kOk);
  REQUIRE(b.WaitForReceived(2));
  CHECK(b.received().back() == next.items[0]->id);
}

TEST_CASE("a Redis that stops answering fails publishes at the deadline, then recovers") {
  RedisProcess redis;
  RedisStoreOptions options = TestOptions(redis.port());
  options.timing.op_timeout = std::chrono::milliseconds(500);
  Node a(options, "c");
  REQUIRE(WaitUntil([&] { return a.Up(); }));
  redis.Pause();  // Connections open, nothing answers: hiredis alone would wait forever.
  CHECK(AppendNow(a.store(), Drafts("c", {"1"})).status == StoreStatus::kUnavailable);
  CHECK(WaitUntil([&] { return !a.Up(); }));
  CHECK(a.store().Health().detail.find("did not answer") != std::string::npos);
  redis.Resume();
  REQUIRE(WaitUntil([&] { return a.Up(); }));
  CHECK(AppendNow(a.store(), Drafts("c", {"2"})).status == StoreStatus::kOk);
}

TEST_CASE("CLIENT KILL TYPE pubsub while A publishes: B still gets every item in order") {
  RedisProcess redis;
  Node a(TestOptions(redis.port()), "c");
  Node b(TestOptions(redis.port()), "c");
  REQUIRE(WaitUntil([&] { return a.Up() && b.Up(); }));
  b.FollowFrom(b.store().Head());

  // Each round's publishes race B's resubscription after the kill before it: what B's
  // subscription missed must come from the catch-up, in order.
  std::atomic<int> kills{0};
  std::vector<std::uint64_t> ids;
  std::thread publisher([&] {
    for (int round = 0; round < 3; ++round) {
      WaitUntil([&] { return kills >= round; });
      for (std::uint64_t id : PublishSeries(a.store(), "c", 100)) ids.push_back(id);
    }
  });
  for (int round = 0; round < 3; ++round) {
    redis.Cli({"CLIENT", "KILL", "TYPE", "pubsub"});
    ++kills;
  }
  publisher.join();
  REQUIRE(b.WaitForReceived(ids.size()));
  CHECK(b.received() == ids);
  CHECK(WaitUntil([&] { return b.store().Health().reconnects > 0; }));
}

TEST_CASE("a subscription killed after it served is made again at once, not after the backoff") {
  RedisProcess redis;
  RedisStoreOptions slow = TestOptions(redis.port());
  // Backoff longer than the test's deadline: only the immediate reconnect can pass.
  slow.timing.backoff_min = slow.timing.backoff_max = std::chrono::minutes(1);
  slow.timing.stable_for = std::chrono::milliseconds(0);
  Node a(TestOptions(redis.port()), "c");
  Node b(slow, "c");
  REQUIRE(WaitUntil([&] { return a.Up() && b.Up(); }));
  b.FollowFrom(b.store().Head());

  redis.Cli({"CLIENT", "KILL", "TYPE", "pubsub"});
  const std::vector<std::uint64_t> ids = PublishSeries(a.store(), "c", 3);
  REQUIRE(b.WaitForReceived(ids.size()));
  CHECK(b.received() == ids);
  CHECK(b.store().Health().reconnects > 0);
}

TEST_CASE("a full restart with AOF loses nothing acknowledged, and old cursors still work") {
  RedisProcess redis(/*aof=*/true);
  std::vector<std::uint64_t> ids;
  {
    Node a(TestOptions(redis.port()), "durable");
    REQUIRE(WaitUntil([&] { return a.Up(); }));
    ids = PublishSeries(a.store(), "durable", 20);
  }
  redis.Kill();  // appendfsync always: what was acknowledged is on disk.
  redis.Start();
  Node b(TestOptions(redis.port()), "durable");
  REQUIRE(WaitUntil([&] { return b.Up(); }));
  ReadAnswer all = ReadNow(b.store(), {"durable"}, 0);
  CHECK(Ids(all.result.items) == ids);
  ReadAnswer later = ReadNow(b.store(), {"durable"}, ids[9]);
  CHECK_FALSE(later.result.truncated);
  CHECK(Ids(later.result.items) == std::vector<std::uint64_t>(ids.begin() + 10, ids.end()));
  // Ids go on increasing after the restart.
  CHECK(AppendNow(b.store(), Drafts("durable", {"x"})).items.at(0)->id > ids.back());
}

TEST_CASE("Redis restarted without its data: nodes start over and old cursors are truncated") {
  RedisProcess redis;  // No persistence.
  Node a(TestOptions(redis.port()), "c");
  Node b(TestOptions(redis.port()), "c");
  REQUIRE(WaitUntil([&] { return a.Up() && b.Up(); }));
  b.FollowFrom(b.store().Head());
  const std::vector<std::uint64_t> old = PublishSeries(a.store(), "c", 3);
  REQUIRE(b.WaitForReceived(old.size()));

  redis.Kill();
  redis.Start();
  REQUIRE(WaitUntil([&] { return a.Up() && b.Up(); }));
  AppendResult fresh = AppendNow(a.store(), Drafts("c", {"new"}));
  REQUIRE(fresh.status == StoreStatus::kOk);
  REQUIRE(b.WaitForReceived(old.size() + 1));
  CHECK(b.received().back() == fresh.items[0]->id);
  CHECK(b.truncated_seen());  // Its cursor came from the lost data set.
  CHECK(ReadNow(b.store(), {"c"}, old.back()).result.truncated);
}

TEST_CASE("trimming by count: the oldest go, and a cursor before them is truncated") {
  RedisProcess redis;
  RedisStoreOptions options = TestOptions(redis.port());
  options.limits.max_items = 3;
  Node a(options, "t");
  Node b(options, "t");
  REQUIRE(WaitUntil([&] { return a.Up() && b.Up(); }));
  const std::vector<std::uint64_t> ids = PublishSeries(a.store(), "t", 5);
  const std::vector<std::uint64_t> kept(ids.begin() + 2, ids.end());
  CHECK(Ids(ReadNow(b.store(), {"t"}, 0).result.items) == kept);
  ReadAnswer old = ReadNow(b.store(), {"t"}, ids[0]);
  CHECK(old.result.truncated);
  CHECK(Ids(old.result.items) == kept);
  CHECK_FALSE(ReadNow(b.store(), {"t"}, ids[1]).result.truncated);
  CHECK(redis.Cli({"XLEN", "livefeed:s:t"}) == "3");
  CHECK(WaitUntil([&] { return b.store().Health().evictions >= 2; }));
}

// A publish of three items to a channel at its backlog drops three at once: the entry kept
// first names the newest dropped, so a cursor just past it, or one from another channel
// between, misses nothing; and the channel's bytes are those of the items it keeps.
TEST_CASE("a publish that trims several items: exact truncation and bytes, on every node") {
  RedisProcess redis;
  RedisStoreOptions options = TestOptions(redis.port());
  options.limits.max_items = 4;
  Node a(options, "t");
  REQUIRE(WaitUntil([&] { return a.Up(); }));
  const std::vector<std::uint64_t> old = PublishSeries(a.store(), "t", 4);
  const std::uint64_t between = PublishSeries(a.store(), "other", 1).at(0);
  AppendResult batch = AppendNow(a.store(), Drafts("t", {"10", "11", "12"}));
  REQUIRE(batch.status == StoreStatus::kOk);
  const std::vector<std::uint64_t> kept{old[3], batch.items[0]->id, batch.items[1]->id,
                                        batch.items[2]->id};
  Node fresh(options, "t");  // Its reads go to Redis: its tail holds nothing yet.
  REQUIRE(WaitUntil([&] { return fresh.Up(); }));
  for (Node* node : {&a, &fresh}) {
    CHECK(Ids(ReadNow(node->store(), {"t"}, 0).result.items) == kept);
    CHECK(ReadNow(node->store(), {"t"}, old[1]).result.truncated);
    CHECK_FALSE(ReadNow(node->store(), {"t"}, old[2]).result.truncated);
    CHECK_FALSE(ReadNow(node->store(), {"t"}, between).result.truncated);
  }
  std::size_t bytes = 0;
  for (const ItemPtr& item : ReadNow(fresh.store(), {"t"}, 0).result.items) {
    bytes += item->footprint();
  }
  CHECK(redis.Cli({"HGET", "livefeed:m:t", "bytes"}) == std::to_string(bytes));
  CHECK(redis.Cli({"XLEN", "livefeed:s:t"}) == "4");
}

// Entries written before they carried 'p' and 'c' (an older livefeed) are trimmed by reading
// them, with the same answers, until the last of them is gone.
TEST_CASE("a channel written before entries named their predecessor is trimmed all the same") {
  RedisProcess redis;
  RedisStoreOptions options = TestOptions(redis.port());
  options.limits.max_items = 3;
  Node a(options, "t");
  REQUIRE(WaitUntil([&] { return a.Up(); }));
  const std::vector<std::uint64_t> old = PublishSeries(a.store(), "t", 3);
  // Rewrite the channel as the older layout had it: no p and c, no total or newest (the
  // script's strings in double quotes: Cli passes each argument in single ones).
  redis.Cli({"EVAL",
             "local e = redis.call(\"XRANGE\", KEYS[1], \"-\", \"+\") redis.call(\"DEL\", KEYS[1]) "
             "for _, x in ipairs(e) do local f = x[2] "
             "redis.call(\"XADD\", KEYS[1], x[1], f[1], f[2], f[3], f[4], f[5], f[6]) end "
             "redis.call(\"HDEL\", KEYS[2], \"total\", \"newest\", \"mixed\") return #e",
             "2", "livefeed:s:t", "livefeed:m:t"});
  REQUIRE(redis.Cli({"HGET", "livefeed:m:t", "total"}).empty());
  std::vector<std::uint64_t> ids = old;
  for (int round = 0; round < 2; ++round) {
    AppendResult more = AppendNow(a.store(), Drafts("t", {"20", "21"}));
    REQUIRE(more.status == StoreStatus::kOk);
    for (const ItemPtr& item : more.items) ids.push_back(item->id);
    Node fresh(options, "t");
    REQUIRE(WaitUntil([&] { return fresh.Up(); }));
    const std::vector<std::uint64_t> kept(ids.end() - 3, ids.end());
    CHECK(Ids(ReadNow(fresh.store(), {"t"}, 0).result.items) == kept);
    CHECK(ReadNow(fresh.store(), {"t"}, ids[ids.size() - 5]).result.truncated);
    CHECK_FALSE(ReadNow(fresh.store(), {"t"}, ids[ids.size() - 4]).result.truncated);
    CHECK(redis.Cli({"XLEN", "livefeed:s:t"}) == "3");
  }
  // The older entries are gone: the channel is trimmed by its first entry again.
  CHECK(redis.Cli({"HGET", "livefeed:m:t", "mixed"}) == "0");
}

TEST_CASE("trimming by bytes keeps what fits") {
  RedisProcess redis;
  RedisStoreOptions options = TestOptions(redis.port());
  Node a(options, "t");
  REQUIRE(WaitUntil([&] { return a.Up(); }));
  const ItemPtr one = AppendNow(a.store(), Drafts("t", {"\"aaaa\""})).items.at(0);
  // Room for two items of this size: the third pushes the first out.
  options.limits.max_bytes = 2 * one->footprint() + 10;
  Node b(options, "t");
  REQUIRE(WaitUntil([&] { return b.Up(); }));
  const std::vector<std::uint64_t> ids = PublishSeries(b.store(), "t", 2);
  CHECK(Ids(ReadNow(b.store(), {"t"}, 0).result.items) == ids);
}

TEST_CASE("trimming by age: expired items go, and a cursor before them is truncated") {
  RedisProcess redis;
  RedisStoreOptions options = TestOptions(redis.port());
  options.limits.max_age_us = 300'000;
  Node a(options, "aged");
  REQUIRE(WaitUntil([&] { return a.Up(); }));
  const std::vector<std::uint64_t> ids = PublishSeries(a.store(), "aged", 2);
  REQUIRE(WaitUntil([&] { return ReadNow(a.store(), {"aged"}, 0).result.items.empty(); }));
  ReadAnswer old = ReadNow(a.store(), {"aged"}, ids[0] - 1);
  CHECK(old.result.truncated);
  CHECK(old.result.items.empty());
  // A fresh node, asking Redis: the same answer.
  Node b(options, "aged");
  REQUIRE(WaitUntil([&] { return b.Up(); }));
  CHECK(ReadNow(b.store(), {"aged"}, ids[0] - 1).result.truncated);
}

TEST_CASE("reads after a cursor the tail covers are answered at once, older ones by Redis") {
  RedisProcess redis;
  Node a(TestOptions(redis.port()), "tail");
  Node b(TestOptions(redis.port()), "tail");
  REQUIRE(WaitUntil([&] { return a.Up() && b.Up(); }));
  const std::vector<std::uint64_t> ids = PublishSeries(a.store(), "tail", 4);
  REQUIRE(WaitUntil([&] { return b.store().Head() >= ids.back(); }));

  ReadAnswer first = ReadNow(b.store(), {"tail"}, ids[1]);  // Not in memory yet.
  CHECK_FALSE(first.at_once);
  CHECK(Ids(first.result.items) == std::vector<std::uint64_t>{ids[2], ids[3]});
  CHECK(b.store().TailHolds("tail"));
  ReadAnswer again = ReadNow(b.store(), {"tail"}, ids[2]);
  CHECK(again.at_once);
  CHECK(Ids(again.result.items) == std::vector<std::uint64_t>{ids[3]});

  const std::uint64_t next = AppendNow(a.store(), Drafts("tail", {"5"})).items.at(0)->id;
  REQUIRE(WaitUntil([&] { return b.store().Head() >= next; }));
  ReadAnswer live = ReadNow(b.store(), {"tail"}, ids[3]);
  CHECK(live.at_once);
  CHECK(Ids(live.result.items) == std::vector<std::uint64_t>{next});

  ReadAnswer older = ReadNow(b.store(), {"tail"}, ids[0]);  // Before the tail: Redis.
  CHECK_FALSE(older.at_once);
  CHECK(Ids(older.result.items) == std::vector<std::uint64_t>{ids[1], ids[2], ids[3], next});
  CHECK_FALSE(older.result.truncated);
}

TEST_CASE("a cursor beyond the cluster's head is truncated") {
  RedisProcess redis;
  Node a(TestOptions(redis.port()), "c");
  REQUIRE(WaitUntil([&] { return a.Up(); }));
  const std::uint64_t id = AppendNow(a.store(), Drafts("c", {"1"})).items.at(0)->id;
  ReadAnswer answer = ReadNow(a.store(), {"c"}, id + 1'000'000'000);
  CHECK(answer.result.truncated);
  CHECK(Ids(answer.result.items) == std::vector<std::uint64_t>{id});
}

TEST_CASE("after SCRIPT FLUSH (NOSCRIPT) publishes and reads still work") {
  RedisProcess redis;
  Node a(TestOptions(redis.port()), "c");
  REQUIRE(WaitUntil([&] { return a.Up(); }));
  REQUIRE(redis.Cli({"SCRIPT", "FLUSH"}) == "OK");
  const std::uint64_t id = AppendNow(a.store(), Drafts("c", {"1"})).items.at(0)->id;
  CHECK(Ids(ReadNow(a.store(), {"c"}, id - 1).result.items) == std::vector<std::uint64_t>{id});
}

TEST_CASE("a new channel beyond the channel limit is refused") {
  RedisProcess redis;
  RedisStoreOptions options = TestOptions(redis.port());
  options.limits.max_channels = 2;
  Node a(options, "c");
  REQUIRE(WaitUntil([&] { return a.Up(); }));
  CHECK(AppendNow(a.store(), Drafts("one", {"1"})).status == StoreStatus::kOk);
  CHECK(AppendNow(a.store(), Drafts("two", {"1"})).status == StoreStatus::kOk);
  CHECK(AppendNow(a.store(), Drafts("three", {"1"})).status == StoreStatus::kFull);
  CHECK(AppendNow(a.store(), Drafts("one", {"2"})).status == StoreStatus::kOk);
}

TEST_CASE("operations past the in-flight bound are refused as busy") {
  RedisProcess redis;
  RedisStoreOptions options = TestOptions(redis.port());
  options.max_in_flight = 1;
  options.timing.op_timeout = std::chrono::milliseconds(10000);
  Node a(options, "c");
  REQUIRE(WaitUntil([&] { return a.Up(); }));
  // Writes wait while clients are paused: the first publish stays in flight.
  REQUIRE(redis.Cli({"CLIENT", "PAUSE", "5000", "WRITE"}) == "OK");
  auto promise = std::make_shared<std::promise<AppendResult>>();
  auto future = promise->get_future();
  REQUIRE_FALSE(
      a.store().Append(Drafts("c", {"1"}), [promise](AppendResult r) { promise->set_value(r); }));
  std::optional<AppendResult> second = a.store().Append(Drafts("c", {"2"}), [](AppendResult) {});
  REQUIRE(second);
  CHECK(second->status == StoreStatus::kBusy);
  REQUIRE(redis.Cli({"CLIENT", "UNPAUSE"}) == "OK");
  REQUIRE(future.wait_for(kDeadline) == std::future_status::ready);
  CHECK(future.get().status == StoreStatus::kOk);
}

TEST_CASE("a subscription gone silent is found by the probe, and what it missed arrives") {
  RedisProcess redis;
  TcpProxy proxy(redis.port());
  Node a(TestOptions(redis.port()), "c");
  Node b(TestOptions(proxy.port()), "c");
  REQUIRE(WaitUntil([&] { return a.Up() && b.Up(); }));
  b.FollowFrom(b.store().Head());
  const std::uint64_t errors = b.store().Health().errors;

  proxy.FreezeSubscribers();  // Open, and silent: no error, no EOF.
  const std::vector<std::uint64_t> ids = PublishSeries(a.store(), "c", 5);
  REQUIRE(b.WaitForReceived(ids.size()));
  CHECK(b.received() == ids);
  CHECK(b.store().Health().errors > errors);
}

TEST_CASE("a node that fell behind more than the log keeps starts over and loses nothing") {
  RedisProcess redis;
  TcpProxy proxy(redis.port());
  RedisStoreOptions options = TestOptions(redis.port());
  options.limits.log_entries = 3;
  Node a(options, "c");
  options.endpoint.port = proxy.port();
  Node b(options, "c");
  REQUIRE(WaitUntil([&] { return a.Up() && b.Up(); }));
  b.FollowFrom(b.store().Head());
  const std::vector<std::uint64_t> first = PublishSeries(a.store(), "c", 2);
  REQUIRE(b.WaitForReceived(first.size()));

  proxy.FreezeSubscribers();
  std::vector<std::uint64_t> ids = first;
  for (std::uint64_t id : PublishSeries(a.store(), "c", 10)) ids.push_back(id);
  REQUIRE(redis.Cli({"XLEN", "livefeed:log"}) == "3");
  REQUIRE(b.WaitForReceived(ids.size()));
  CHECK(b.received() == ids);
  CHECK_FALSE(b.truncated_seen());
}

}  // namespace
}  // namespace livefeed::testing
