// Several nodes, one feed, when Redis is not there: a node that starts before Redis, Redis
// killed under two serving nodes, the nodes' subscriptions killed while items are published,
// and everything restarted. The real livefeed binary, a private redis-server per test.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <random>

#include "redis/node_clients.h"

namespace livefeed::testing {
namespace {

// A publish refused because the store is down: 503, Retry-After, a JSON error.
void CheckRefused(const HttpResponse& answer) {
  CHECK(answer.status == 503);
  CHECK(answer.Header("retry-after") == "1");
  CHECK(answer.Json()["error"].is_string());
}

void CheckHealthDown(int port) {
  const HttpResponse health = Get(port, "/healthz");
  CHECK(health.status == 503);
  CHECK(health.Json()["store"] == "down");
  CHECK_FALSE(health.Json()["detail"].get<std::string>().empty());
}

// Kills every node's subscription `times` times, 50 ms apart, on a thread of its own, then
// sets `killing` to false.
std::thread KillSubscriptions(RedisProcess& redis, int times, std::atomic<bool>& killing) {
  return std::thread([&redis, times, &killing] {
    for (int kill = 0; kill < times; ++kill) {
      redis.Cli({"CLIENT", "KILL", "TYPE", "pubsub"});
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    killing = false;
  });
}

TEST_CASE("a malformed --store URL exits 2 with the reason") {
  const ExitResult result = RunToExit({"--store", "redis://127.0.0.1:99999"}, kNodeDeadline);
  CHECK(result.exit_code == 2);
  CHECK(result.output.find("--store: malformed Redis URL: the port") != std::string::npos);
}

TEST_CASE("a node starts while Redis is unreachable, says so, and serves once Redis is there") {
  const int redis_port = FreeLoopbackPort();
  ServerProcess node({"--store", "redis://127.0.0.1:" + std::to_string(redis_port)});
  CheckHealthDown(node.port());
  CheckRefused(PostJson(node.port(), R"({"data":"early"})"));
  // "From now" means nothing before the node has reached Redis once.
  CheckRefused(Get(node.port(), "/real_time_feed?timeout=1"));
  CheckRefused(Get(node.port(), "/real_time_feed/stream"));

  RedisProcess redis(/*aof=*/false, redis_port);
  REQUIRE(WaitForStore(node.port(), "up"));
  CHECK(Get(node.port(), "/healthz").status == 200);
  const std::uint64_t id = Publish(node.port(), R"({"text":"late"})");
  CHECK(Get(node.port(), "/real_time_feed?since=0").Json()["cursor"] == id);
}

TEST_CASE(
    "Redis killed: both nodes refuse publishes and report it, held clients stay, and "
    "after its restart B's waiters get the next item") {
  TwoNodes nodes({}, /*aof=*/true);
  ServerProcess* a = nodes.a.get();
  ServerProcess* b = nodes.b.get();
  // Held from now, with no first read for the kill to fail. The poll comes once the stream
  // has item 1: B has applied it, so B's "now" is past it.
  SseClient stream(b->port(), "/real_time_feed/stream");
  REQUIRE(WaitForWaiters(b->port(), 1));
  const std::uint64_t first = Publish(a->port(), "1");
  REQUIRE(StreamIds(stream, 1) == std::vector<std::uint64_t>{first});
  HttpConnection poll(b->port());
  poll.Send("GET", "/real_time_feed?timeout=60");
  REQUIRE(WaitForWaiters(b->port(), 2));

  nodes.redis.Kill();
  for (const ServerProcess* node : {a, b}) {
    REQUIRE(WaitForStore(node->port(), "down"));
    CheckRefused(PostJson(node->port(), R"({"data":"refused"})"));
    CheckHealthDown(node->port());
  }
  CHECK(Health(b->port())["waiting"] == 2);

  nodes.redis.Start();
  REQUIRE(WaitForStore(a->port(), "up"));
  REQUIRE(WaitForStore(b->port(), "up"));
  const std::uint64_t next = Publish(a->port(), "2");
  const HttpResponse answer = poll.Read();
  REQUIRE(answer.status == 200);
  REQUIRE(answer.Json()["items"].size() == 1);
  CHECK(answer.Json()["items"][0]["id"] == next);
  CHECK(StreamIds(stream, 1) == std::vector<std::uint64_t>{next});
}

TEST_CASE("CLIENT KILL TYPE pubsub while A publishes: B's clients still get every item in order") {
  TwoNodes nodes;
  ServerProcess* a = nodes.a.get();
  ServerProcess* b = nodes.b.get();
  PollFollower follower(b->port(), 0);
  SseClient stream(b->port(), "/real_time_feed/stream?since=0");
  REQUIRE(stream.head().status == 200);

  // The subscriptions are killed again and again while A keeps publishing.
  std::atomic<bool> killing{true};
  std::thread killer = KillSubscriptions(nodes.redis, 8, killing);
  std::vector<std::uint64_t> published;
  while (killing || published.size() < 60) {
    published.push_back(Publish(a->port(), std::to_string(published.size())));
  }
  killer.join();

  follower.WaitFor(published.size());
  CHECK_MESSAGE(follower.ids() == published, Difference(follower.ids(), published) << b->Log());
  CHECK_FALSE(follower.truncated());
  int truncations = 0;
  const std::vector<std::uint64_t> streamed = StreamIds(stream, published.size(), &truncations);
  CHECK_MESSAGE(streamed == published, Difference(streamed, published) << b->Log());
  CHECK(truncations == 0);
}

// Clients that come back with older cursors (a page reopened, a reconnect after a while)
// are read from Redis while the node's tail holds the newer part of the channel, and while
// announcements may be on their way: each answer must still hold every item after its
// cursor, up to its last one.
TEST_CASE("while A publishes and subscriptions are killed, older cursors on B get no holes") {
  TwoNodes nodes;
  ServerProcess* a = nodes.a.get();
  ServerProcess* b = nodes.b.get();
  std::mutex mu;
  std::vector<std::uint64_t> published;  // Guarded by mu.
  struct Answer {
    std::uint64_t since;
    std::vector<std::uint64_t> ids;
  };
  std::vector<Answer> answers;
  std::atomic<bool> publishing{true};
  std::thread reader([&] {
    std::mt19937 random(7);
    while (publishing) {
      std::uint64_t since = 0;
      {
        std::lock_guard lock(mu);
        // One of the last 200 items: far enough back to start before B's tail.
        if (!published.empty()) {
          since = published[published.size() - 1 -
                            random() % std::min<std::size_t>(200, published.size())];
        }
      }
      if (since == 0) {
        std::this_thread::yield();
        continue;
      }
      const HttpResponse answer =
          Get(b->port(), "/real_time_feed?since=" + std::to_string(since) + "&timeout=0");
      if (answer.status != 200) continue;
      const nlohmann::json body = answer.Json();
      if (body.contains("truncated")) continue;
      Answer seen{since, {}};
      for (const auto& item : body["items"]) seen.ids.push_back(item["id"]);
      if (!seen.ids.empty()) answers.push_back(std::move(seen));
    }
  });
  std::atomic<bool> killing{true};
  std::thread killer = KillSubscriptions(nodes.redis, 16, killing);
  for (std::size_t count = 0; killing || count < 300; ++count) {
    const std::uint64_t id = Publish(a->port(), std::to_string(count));
    std::lock_guard lock(mu);
    published.push_back(id);
  }
  killer.join();
  publishing = false;
  reader.join();

  REQUIRE_FALSE(answers.empty());
  for (const Answer& answer : answers) {
    const auto from = std::upper_bound(published.begin(), published.end(), answer.since);
    const auto to = std::upper_bound(from, published.end(), answer.ids.back());
    const std::vector<std::uint64_t> want(from, to);
    INFO("since " << answer.since);
    CHECK_MESSAGE(answer.ids == want, Difference(answer.ids, want));
  }
}

TEST_CASE(
    "a full restart with AOF (both nodes and Redis) loses nothing, and old cursors stay "
    "valid") {
  TwoNodes nodes({}, /*aof=*/true);
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < 10; ++i) {
    ids.push_back(Publish((i % 2 ? nodes.a : nodes.b)->port(), std::to_string(i)));
  }
  nodes.a.reset();  // Both nodes stop.
  nodes.b.reset();
  // Not even a clean shutdown: appendfsync always has written every acknowledged publish.
  nodes.redis.Kill();
  nodes.redis.Start();
  nodes.StartNodes();
  ServerProcess* a = nodes.a.get();
  ServerProcess* b = nodes.b.get();

  const nlohmann::json all = Get(a->port(), "/real_time_feed?since=0").Json();
  std::vector<std::uint64_t> found;
  for (const auto& item : all["items"]) found.push_back(item["id"].get<std::uint64_t>());
  CHECK(found == ids);
  const std::string cursor = std::to_string(ids[3]);
  const nlohmann::json rest = Get(b->port(), "/real_time_feed?since=" + cursor).Json();
  CHECK(rest["items"].size() == 6);
  CHECK(rest["items"][0]["id"] == ids[4]);
  CHECK_FALSE(rest.contains("truncated"));
  SseClient resumed(b->port(), "/real_time_feed/stream", cursor);
  int truncations = 0;
  CHECK(StreamIds(resumed, 6, &truncations) ==
        std::vector<std::uint64_t>(ids.begin() + 4, ids.end()));
  CHECK(truncations == 0);
  CHECK(Publish(a->port(), "\"after\"") > ids.back());
}

}  // namespace
}  // namespace livefeed::testing
