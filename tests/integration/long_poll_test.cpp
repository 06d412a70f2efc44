// GET /real_time_feed against the real binary: holding, releasing, cursors and bad input.
#include <doctest/doctest.h>
#include <signal.h>

#include <memory>
#include <vector>

#include "support/feed_helpers.h"

using namespace livefeed::testing;
using std::chrono::seconds;

TEST_CASE("a held poll is released by a publish with the new item") {
  ServerProcess server;
  const auto first = Publish(server.port(), "1");

  HttpConnection waiting(server.port());
  waiting.Send("GET", "/real_time_feed?since=" + std::to_string(first));
  REQUIRE(WaitForWaiters(server.port(), 1));
  const auto second = Publish(server.port(), "{\"text\":\"hello\"}", "default", "news");

  HttpResponse answer = waiting.Read();
  REQUIRE(answer.status == 200);
  CHECK(answer.Header("content-type") == "application/json");
  auto body = answer.Json();
  REQUIRE(body["items"].size() == 1);
  CHECK(body["items"][0]["id"] == second);
  CHECK(body["items"][0]["type"] == "news");
  CHECK(body["items"][0]["data"]["text"] == "hello");
  CHECK(body["items"][0]["channel"] == "default");
  CHECK(body["items"][0]["timestamp"].is_number_integer());
  CHECK(body["cursor"] == second);
  CHECK_FALSE(body.contains("truncated"));
}

TEST_CASE("without since only items published after the request are answered") {
  ServerProcess server;
  Publish(server.port(), "\"old\"");

  HttpConnection waiting(server.port());
  waiting.Send("GET", "/real_time_feed");
  REQUIRE(WaitForWaiters(server.port(), 1));
  const auto fresh = Publish(server.port(), "\"new\"");

  auto body = waiting.Read().Json();
  REQUIRE(body["items"].size() == 1);
  CHECK(body["items"][0]["data"] == "new");
  CHECK(body["cursor"] == fresh);
}

TEST_CASE("since=0 answers the whole retained backlog at once, in id order") {
  ServerProcess server;
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(Publish(server.port(), std::to_string(i)));

  auto body = Get(server.port(), "/real_time_feed?since=0").Json();
  REQUIRE(body["items"].size() == 5);
  for (int i = 0; i < 5; ++i) CHECK(body["items"][i]["id"] == ids[i]);
  CHECK(body["cursor"] == ids.back());
  CHECK_FALSE(body.contains("truncated"));
}

TEST_CASE("since in the middle answers only the items after it") {
  ServerProcess server;
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(Publish(server.port(), std::to_string(i)));

  auto body = Get(server.port(), "/real_time_feed?since=" + std::to_string(ids[1])).Json();
  REQUIRE(body["items"].size() == 2);
  CHECK(body["items"][0]["id"] == ids[2]);
  CHECK(body["items"][1]["id"] == ids[3]);
}

TEST_CASE("a cursor whose successors were evicted gets what is retained and truncated") {
  ServerProcess server({"--backlog", "3"});
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < 6; ++i) ids.push_back(Publish(server.port(), std::to_string(i)));

  auto body = Get(server.port(), "/real_time_feed?since=" + std::to_string(ids[0])).Json();
  CHECK(body["truncated"] == true);
  REQUIRE(body["items"].size() == 3);
  CHECK(body["items"][0]["id"] == ids[3]);
  CHECK(body["cursor"] == ids[5]);

  // since=0 asks for "whatever you have": never truncated.
  auto all = Get(server.port(), "/real_time_feed?since=0").Json();
  CHECK_FALSE(all.contains("truncated"));
  CHECK(all["items"].size() == 3);
}

TEST_CASE("after a restart an old cursor is truncated and new ids are larger") {
  std::uint64_t old_id;
  {
    ServerProcess first;
    old_id = Publish(first.port(), "\"before restart\"");
    CHECK(first.Stop(SIGTERM) == 0);
  }
  ServerProcess second;
  auto empty =
      Get(second.port(), "/real_time_feed?since=" + std::to_string(old_id) + "&timeout=1").Json();
  CHECK(empty["truncated"] == true);
  CHECK(empty["items"].empty());

  const auto new_id = Publish(second.port(), "\"after restart\"");
  CHECK(new_id > old_id);
  auto body = Get(second.port(), "/real_time_feed?since=" + std::to_string(old_id)).Json();
  CHECK(body["truncated"] == true);
  REQUIRE(body["items"].size() == 1);
  CHECK(body["items"][0]["id"] == new_id);
}

TEST_CASE("a poll that times out answers no items and the unchanged cursor") {
  ServerProcess server;
  const auto id = Publish(server.port(), "1");
  auto response = Get(server.port(), "/real_time_feed?since=" + std::to_string(id) + "&timeout=1");
  REQUIRE(response.status == 200);
  auto body = response.Json();
  CHECK(body["items"].empty());
  CHECK(body["cursor"] == id);
}

TEST_CASE("a poll on several channels gets items of each, and only of those") {
  ServerProcess server;
  const auto start = Publish(server.port(), "0", "a");
  Publish(server.port(), "\"elsewhere\"", "other");
  const auto on_a = Publish(server.port(), "1", "a");
  const auto on_b = Publish(server.port(), "2", "b");

  auto body =
      Get(server.port(), "/real_time_feed?since=" + std::to_string(start) + "&channel=a&channel=b")
          .Json();
  REQUIRE(body["items"].size() == 2);
  CHECK(body["items"][0]["id"] == on_a);
  CHECK(body["items"][1]["id"] == on_b);

  // The comma-separated form is the same request.
  auto same =
      Get(server.port(), "/real_time_feed?since=" + std::to_string(start) + "&channel=a,b").Json();
  CHECK(same == body);
}

TEST_CASE("a publish on another channel does not release a waiter") {
  ServerProcess server;
  const auto start = Publish(server.port(), "0", "mine");
  HttpConnection waiting(server.port());
  waiting.Send("GET", "/real_time_feed?channel=mine&since=" + std::to_string(start));
  REQUIRE(WaitForWaiters(server.port(), 1));
  Publish(server.port(), "\"not yours\"", "theirs");
  // Still held: the publish on "theirs" did not answer it.
  CHECK(Health(server.port())["waiting"] == 1);
  const auto mine = Publish(server.port(), "\"yours\"", "mine");
  auto body = waiting.Read().Json();
  REQUIRE(body["items"].size() == 1);
  CHECK(body["items"][0]["id"] == mine);
}

TEST_CASE("hundreds of concurrent waiters all receive the published item") {
  ServerProcess server;
  const auto start = Publish(server.port(), "0");
  constexpr int kWaiters = 400;
  std::vector<std::unique_ptr<HttpConnection>> clients;
  for (int i = 0; i < kWaiters; ++i) {
    clients.push_back(std::make_unique<HttpConnection>(server.port()));
    REQUIRE(clients.back()->connected());
    clients.back()->Send("GET", "/real_time_feed?since=" + std::to_string(start));
  }
  REQUIRE(WaitForWaiters(server.port(), kWaiters));
  const auto id = Publish(server.port(), "\"to everyone\"");
  int received = 0;
  for (auto& client : clients) {
    auto body = client->Read().Json();
    if (body.is_object() && body["items"].size() == 1 && body["items"][0]["id"] == id) ++received;
  }
  CHECK(received == kWaiters);
}

TEST_CASE("a client that disconnects while waiting is released at once") {
  ServerProcess server({"--poll-timeout", "600"});
  HttpConnection waiting(server.port());
  waiting.Send("GET", "/real_time_feed");
  REQUIRE(WaitForWaiters(server.port(), 1));
  waiting.Close();
  // Far sooner than the 600 s poll timeout.
  CHECK(WaitUntil([&] { return Health(server.port())["waiting"] == 0; }, seconds(10)));
  CHECK(WaitUntil([&] { return Health(server.port())["connections"] == 1; }, seconds(10)));
}

TEST_CASE("bad long-poll parameters are answered 400 with a JSON error") {
  ServerProcess server;
  const std::string bad_targets[] = {
      "/real_time_feed?since=abc",
      "/real_time_feed?since=-1",
      "/real_time_feed?since=",
      "/real_time_feed?since=9007199254740992",
      "/real_time_feed?since=99999999999999999999999",
      "/real_time_feed?since=1&since=2",
      "/real_time_feed?timeout=-1",
      "/real_time_feed?timeout=26",
      "/real_time_feed?timeout=soon",
      "/real_time_feed?channel=has%20space",
      "/real_time_feed?channel=a,,b",
      "/real_time_feed?channel=",
      "/real_time_feed?channel=" + std::string(65, 'x'),
      "/real_time_feed?channel=1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17",
      "/real_time_feed?chanel=typo",
  };
  for (const auto& target : bad_targets) {
    CAPTURE(target);
    auto response = Get(server.port(), target);
    CHECK(response.status == 400);
    CHECK(response.Header("content-type") == "application/json");
    auto body = response.Json();
    REQUIRE(body.is_object());
    CHECK(body["error"].is_string());
    CHECK_FALSE(body["error"].get<std::string>().empty());
  }
  CHECK(Get(server.port(), "/healthz").status == 200);
}

TEST_CASE("a client re-polling on one connection gets every item, parked or answered at once") {
  ServerProcess server;
  HttpConnection client(server.port());
  std::uint64_t cursor = Publish(server.port(), "0");
  for (int round = 0; round < 20; ++round) {
    // Even rounds wait (parked, answered by the publish); odd rounds find items waiting
    // (answered at once, from the request that arrived while the connection sat idle).
    if (round % 2 == 1) Publish(server.port(), std::to_string(round));
    client.Send("GET", "/real_time_feed?since=" + std::to_string(cursor));
    if (round % 2 == 0) {
      REQUIRE(WaitForWaiters(server.port(), 1));
      Publish(server.port(), std::to_string(round));
    }
    auto answer = client.Read(seconds(10));
    REQUIRE(answer.status == 200);
    auto body = answer.Json();
    REQUIRE(body["items"].size() == 1);
    CHECK(body["items"][0]["data"] == round);
    CHECK(body["items"][0]["id"].get<std::uint64_t>() > cursor);
    cursor = body["cursor"].get<std::uint64_t>();
  }
  // A large answer on the same connection arrives whole.
  const std::string big = "\"" + std::string(30000, 'x') + "\"";
  for (int i = 0; i < 3; ++i) Publish(server.port(), big);
  client.Send("GET", "/real_time_feed?since=" + std::to_string(cursor));
  auto answer = client.Read(seconds(10));
  REQUIRE(answer.status == 200);
  CHECK(answer.Json()["items"].size() == 3);
}

TEST_CASE("timeout=0 answers at once with what there is: without since, the present cursor") {
  ServerProcess server;
  const auto id = Publish(server.port(), "1");
  HttpResponse now = Get(server.port(), "/real_time_feed?timeout=0", seconds(5));
  REQUIRE(now.status == 200);
  CHECK(now.Json()["items"].empty());
  CHECK(now.Json()["cursor"] == id);
  HttpResponse from =
      Get(server.port(), "/real_time_feed?timeout=0&since=" + std::to_string(id), seconds(5));
  CHECK(from.Json()["items"].empty());
  CHECK(from.Json()["cursor"] == id);
}
