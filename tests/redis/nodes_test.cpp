// Several nodes, one feed: the real livefeed binary twice, sharing a private redis-server
// that each test starts on a free port. What a client sees over HTTP: items published on
// one node reach the other's subscribers, cursors are valid everywhere, ids are one
// sequence, and a retried publish is one item whichever node it reaches.
#include <doctest/doctest.h>

#include <algorithm>
#include <set>

#include "redis/node_clients.h"

namespace livefeed::testing {
namespace {

std::vector<std::uint64_t> ItemIds(const nlohmann::json& answer) {
  std::vector<std::uint64_t> ids;
  for (const auto& item : answer["items"]) ids.push_back(item["id"].get<std::uint64_t>());
  return ids;
}

TEST_CASE("an item published on node A reaches a long-poll and a stream on node B") {
  TwoNodes nodes;
  HttpConnection poll(nodes.b->port());
  poll.Send("GET", "/real_time_feed");  // From now.
  SseClient stream(nodes.b->port(), "/real_time_feed/stream");
  REQUIRE(stream.head().status == 200);
  REQUIRE(WaitForWaiters(nodes.b->port(), 2));

  const std::uint64_t id = Publish(nodes.a->port(), R"({"text":"Goal!"})");
  const HttpResponse answer = poll.Read();
  REQUIRE(answer.status == 200);
  CHECK(ItemIds(answer.Json()) == std::vector<std::uint64_t>{id});
  CHECK(answer.Json()["items"][0]["data"]["text"] == "Goal!");
  CHECK(answer.Json()["cursor"] == id);
  CHECK(StreamIds(stream, 1) == std::vector<std::uint64_t>{id});
}

TEST_CASE("a cursor from an answer of node A works on node B, for polls and streams") {
  TwoNodes nodes;
  const std::uint64_t first = Publish(nodes.a->port(), "1");
  const nlohmann::json on_a = Get(nodes.a->port(), "/real_time_feed?since=0").Json();
  const std::uint64_t cursor = on_a["cursor"].get<std::uint64_t>();
  REQUIRE(cursor == first);
  const std::uint64_t second = Publish(nodes.a->port(), "2");
  const std::uint64_t third = Publish(nodes.b->port(), "3");

  const nlohmann::json on_b =
      Get(nodes.b->port(), "/real_time_feed?since=" + std::to_string(cursor)).Json();
  CHECK(ItemIds(on_b) == std::vector<std::uint64_t>{second, third});
  CHECK_FALSE(on_b.contains("truncated"));

  SseClient resumed(nodes.b->port(), "/real_time_feed/stream", std::to_string(cursor));
  int truncations = 0;
  CHECK(StreamIds(resumed, 2, &truncations) == std::vector<std::uint64_t>{second, third});
  CHECK(truncations == 0);
}

TEST_CASE("publishers on both nodes at once: one id sequence, every item once and in order") {
  TwoNodes nodes;
  PollFollower poll_a(nodes.a->port(), 0);
  PollFollower poll_b(nodes.b->port(), 0);
  SseClient stream_a(nodes.a->port(), "/real_time_feed/stream?since=0");
  SseClient stream_b(nodes.b->port(), "/real_time_feed/stream?since=0");

  constexpr int kEach = 100;
  auto publish_series = [](int port, std::vector<std::uint64_t>* ids) {
    for (int i = 0; i < kEach; ++i) ids->push_back(Publish(port, std::to_string(i)));
  };
  std::vector<std::uint64_t> from_a, from_b;
  std::thread publisher_a(publish_series, nodes.a->port(), &from_a);
  std::thread publisher_b(publish_series, nodes.b->port(), &from_b);
  publisher_a.join();
  publisher_b.join();
  CHECK(StrictlyIncreasing(from_a));
  CHECK(StrictlyIncreasing(from_b));
  std::vector<std::uint64_t> all = from_a;
  all.insert(all.end(), from_b.begin(), from_b.end());
  std::sort(all.begin(), all.end());
  REQUIRE(std::set<std::uint64_t>(all.begin(), all.end()).size() == all.size());

  REQUIRE(poll_a.WaitFor(all.size()));
  REQUIRE(poll_b.WaitFor(all.size()));
  CHECK(poll_a.ids() == all);
  CHECK(poll_b.ids() == all);
  CHECK(StreamIds(stream_a, all.size()) == all);
  CHECK(StreamIds(stream_b, all.size()) == all);
}

TEST_CASE("the same Idempotency-Key on node A, then on node B, is one item with one id") {
  TwoNodes nodes;
  std::uint64_t ids[2] = {0, 0};
  std::string replayed[2];
  int i = 0;
  for (ServerProcess* node : {nodes.a.get(), nodes.b.get()}) {
    HttpConnection connection(node->port());
    connection.Send("POST", "/send_feed_item", R"({"data":"once"})", "application/json",
                    "Idempotency-Key: order-42\r\n");
    const HttpResponse answer = connection.Read();
    REQUIRE_MESSAGE(answer.status == 200, answer.body);
    ids[i] = answer.Json()["id"].get<std::uint64_t>();
    replayed[i++] = answer.Header("idempotent-replayed");
  }
  CHECK(ids[0] == ids[1]);
  CHECK(replayed[0].empty());
  CHECK(replayed[1] == "true");
  for (ServerProcess* node : {nodes.a.get(), nodes.b.get()}) {
    CHECK(ItemIds(Get(node->port(), "/real_time_feed?since=0").Json()) ==
          std::vector<std::uint64_t>{ids[0]});
  }
}

TEST_CASE(
    "trimming by count through the API: every node keeps the newest, older cursors are "
    "truncated") {
  TwoNodes nodes({"--backlog", "3"});
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(Publish(nodes.a->port(), std::to_string(i)));
  const std::vector<std::uint64_t> kept(ids.begin() + 2, ids.end());

  const nlohmann::json all = Get(nodes.b->port(), "/real_time_feed?since=0").Json();
  CHECK(ItemIds(all) == kept);
  CHECK_FALSE(all.contains("truncated"));  // since=0 asks for what is retained.
  const nlohmann::json behind =
      Get(nodes.b->port(), "/real_time_feed?since=" + std::to_string(ids[0])).Json();
  CHECK(ItemIds(behind) == kept);
  CHECK(behind["truncated"] == true);
  // Nothing after this cursor was trimmed.
  const nlohmann::json just =
      Get(nodes.b->port(), "/real_time_feed?since=" + std::to_string(ids[1])).Json();
  CHECK(ItemIds(just) == kept);
  CHECK_FALSE(just.contains("truncated"));
}

// Each publish waits for Redis while the next ones already sit in the socket: they are read
// once it is answered, in order, and none is lost or answered twice.
TEST_CASE("pipelined publishes on one connection, each answered by Redis, come back in order") {
  TwoNodes nodes;
  HttpConnection connection(nodes.a->port());
  // One write each, none waiting for an answer: most arrive while one is at Redis.
  const int count = 20;
  for (int i = 0; i < count; ++i) {
    const std::string body = "{\"data\":" + std::to_string(i) + "}";
    REQUIRE(connection.SendRaw(
        "POST /send_feed_item HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body));
  }
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < count; ++i) {
    const HttpResponse answer = connection.Read();
    REQUIRE(answer.status == 200);
    ids.push_back(answer.Json()["id"].get<std::uint64_t>());
  }
  CHECK(std::is_sorted(ids.begin(), ids.end()));
  CHECK(std::set<std::uint64_t>(ids.begin(), ids.end()).size() == count);
  const nlohmann::json on_b = Get(nodes.b->port(), "/real_time_feed?since=0").Json();
  CHECK(ItemIds(on_b) == ids);
  std::vector<int> data;
  for (const auto& item : on_b["items"]) data.push_back(item["data"].get<int>());
  std::vector<int> expected(count);
  for (int i = 0; i < count; ++i) expected[i] = i;
  CHECK(data == expected);
}

TEST_CASE("a publish's answer counts the node's subscribers, though Redis answered it") {
  TwoNodes nodes;
  const int port = nodes.a->port();
  // On node A: three polls and a stream on "room", a poll on "other"; on node B, one more
  // poll on "room", which node A does not count (its own subscribers only).
  std::vector<std::unique_ptr<HttpConnection>> polls;
  for (const char* channel : {"room", "room", "room", "other"}) {
    polls.push_back(std::make_unique<HttpConnection>(port));
    polls.back()->Send("GET", std::string("/real_time_feed?channel=") + channel);
  }
  SseClient stream(port, "/real_time_feed/stream?channel=room");
  REQUIRE(stream.head().status == 200);
  HttpConnection elsewhere(nodes.b->port());
  elsewhere.Send("GET", "/real_time_feed?channel=room");
  REQUIRE(WaitForWaiters(port, 5));
  REQUIRE(WaitForWaiters(nodes.b->port(), 1));

  // The polls are answered when the item's news reaches the node, which may be before the
  // publish's own answer: they count all the same.
  const HttpResponse batch =
      PostJson(port, R"([{"data": 1, "channel": "room"}, {"data": 2, "channel": "other"},
               {"data": 3, "channel": "room"}])");
  REQUIRE_MESSAGE(batch.status == 200, batch.body);
  const nlohmann::json items = batch.Json()["items"];
  REQUIRE(items.size() == 3);
  CHECK(items[0]["subscribers"] == 4);
  CHECK(items[1]["subscribers"] == 1);
  CHECK(items[2]["subscribers"] == 4);
  for (auto& poll : polls) CHECK(poll->Read().status == 200);
  CHECK(elsewhere.Read().status == 200);

  // With only the stream left on "room": a single item's answer.
  const HttpResponse one = PostJson(port, R"({"data": 4, "channel": "room"})");
  REQUIRE_MESSAGE(one.status == 200, one.body);
  CHECK(one.Json()["subscribers"] == 1);
  CHECK(StreamIds(stream, 3).size() == 3);
}

TEST_CASE("trimming by age through the API: expired items go on every node") {
  TwoNodes nodes({"--backlog-max-age", "1"});
  const std::uint64_t old = Publish(nodes.a->port(), "\"old\"");
  // Expiry follows the clock: wait for it to be seen, with a generous deadline.
  REQUIRE(WaitUntil(
      [&] {
        const nlohmann::json answer =
            Get(nodes.b->port(), "/real_time_feed?since=0&timeout=1").Json();
        return answer.is_object() && answer["items"].empty();
      },
      kNodeDeadline, std::chrono::milliseconds(100)));
  const std::uint64_t fresh = Publish(nodes.b->port(), "\"fresh\"");
  for (ServerProcess* node : {nodes.a.get(), nodes.b.get()}) {
    const nlohmann::json answer =
        Get(node->port(), "/real_time_feed?since=" + std::to_string(old - 1)).Json();
    CHECK(ItemIds(answer) == std::vector<std::uint64_t>{fresh});
    CHECK(answer["truncated"] == true);
  }
}

}  // namespace
}  // namespace livefeed::testing
