// GET /channels and /channels/<name> on the real binary: what the store holds of each
// channel and how many waiting polls and streams follow it, as they come and go; the
// paged listing; the admin token; the methods the admin endpoints take.
#include <doctest/doctest.h>

#include <memory>
#include <vector>

#include "support/feed_helpers.h"
#include "support/sse_client.h"

using namespace livefeed::testing;
using nlohmann::json;
using std::chrono::seconds;

namespace {

json ChannelInfo(int port, const std::string& name) {
  HttpResponse response = Get(port, "/channels/" + name);
  REQUIRE_MESSAGE(response.status == 200, response.body);
  return response.Json();
}

// Waits until /channels/<name> says `subscribers`.
bool WaitForSubscribers(int port, const std::string& name, int subscribers) {
  return WaitUntil([&] { return ChannelInfo(port, name)["subscribers"] == subscribers; });
}

// A long-poll held on its own connection.
std::unique_ptr<HttpConnection> HoldPoll(int port, const std::string& query) {
  auto connection = std::make_unique<HttpConnection>(port);
  REQUIRE(connection->Send("GET", "/real_time_feed?" + query));
  return connection;
}

HttpResponse GetWith(int port, const std::string& target, const std::string& headers) {
  return Send(port, "GET", target, headers);
}

}  // namespace

TEST_CASE("channel info counts a channel's waiting polls and streams as they come and go") {
  ServerProcess server;
  const int port = server.port();
  CHECK(ChannelInfo(port, "sport") == json{{"channel", "sport"},
                                           {"subscribers", 0},
                                           {"items", 0},
                                           {"head", nullptr},
                                           {"last_publish", nullptr}});
  auto poll = HoldPoll(port, "channel=sport");
  auto other = HoldPoll(port, "channel=news");
  SseClient stream(port, "/real_time_feed/stream?channel=sport");
  auto both = std::make_unique<SseClient>(port, "/real_time_feed/stream?channel=news,sport");
  REQUIRE(stream.head().status == 200);
  REQUIRE(both->head().status == 200);
  REQUIRE(WaitForSubscribers(port, "sport", 3));
  CHECK(ChannelInfo(port, "news")["subscribers"] == 2);

  // The publish answer counts them too, and the poll is answered by it.
  HttpResponse published = PostJson(port, R"({"data": "goal", "channel": "sport"})");
  REQUIRE(published.status == 200);
  CHECK(published.Json()["subscribers"] == 3);
  CHECK(poll->Read().status == 200);
  REQUIRE(WaitForSubscribers(port, "sport", 2));
  const json info = ChannelInfo(port, "sport");
  CHECK(info["items"] == 1);
  CHECK(info["head"] == published.Json()["id"]);
  CHECK(info["last_publish"] == published.Json()["timestamp"]);

  // A stream that leaves is no longer counted; a poll that comes back is.
  both->Close();
  REQUIRE(WaitForSubscribers(port, "sport", 1));
  CHECK(WaitForSubscribers(port, "news", 1));
  poll = HoldPoll(port, "channel=sport&since=" + info["head"].dump());
  CHECK(WaitForSubscribers(port, "sport", 2));
}

TEST_CASE("with several event loops every loop's subscribers are counted") {
  ServerProcess server({"--event-loops", "3"});
  const int port = server.port();
  std::vector<std::unique_ptr<HttpConnection>> polls;
  std::vector<std::unique_ptr<SseClient>> streams;
  // Enough connections that the loops share them (each takes what it accepts).
  for (int i = 0; i < 8; ++i) {
    polls.push_back(HoldPoll(port, "channel=room"));
    streams.push_back(std::make_unique<SseClient>(port, "/real_time_feed/stream?channel=room"));
    REQUIRE(streams.back()->head().status == 200);
  }
  REQUIRE(WaitForSubscribers(port, "room", 16));
  const json listing = Get(port, "/channels").Json();
  CHECK(listing["channels"].empty());  // Subscribers alone put no channel in the store.
  // Each loop answers its polls when the news reaches it, maybe before the publish is
  // answered: they are counted all the same.
  HttpResponse published = PostJson(port, R"({"data": 1, "channel": "room"})");
  REQUIRE(published.status == 200);
  CHECK(published.Json()["subscribers"] == 16);
  for (auto& poll : polls) CHECK(poll->Read().status == 200);
  CHECK(WaitForSubscribers(port, "room", 8));
  CHECK(Get(port, "/channels").Json()["channels"][0]["subscribers"] == 8);
}

TEST_CASE("the channel listing pages through every channel that holds items, in name order") {
  ServerProcess server;
  const int port = server.port();
  for (const char* channel : {"e", "a", "d", "b", "c"}) Publish(port, "1", channel);
  SseClient stream(port, "/real_time_feed/stream?channel=c");
  REQUIRE(stream.head().status == 200);
  REQUIRE(WaitForSubscribers(port, "c", 1));

  std::vector<std::string> seen;
  std::string target = "/channels?limit=2";
  std::vector<json> pages;
  for (int page = 0; page < 10; ++page) {
    HttpResponse response = Get(port, target);
    REQUIRE_MESSAGE(response.status == 200, response.body);
    const json body = response.Json();
    CHECK(body["channels"].size() <= 2);
    for (const json& channel : body["channels"]) {
      seen.push_back(channel["channel"]);
      CHECK(channel["items"] == 1);
      CHECK(channel["subscribers"] == (channel["channel"] == "c" ? 1 : 0));
    }
    pages.push_back(body);
    if (body["next"].is_null()) break;
    // The cursor is the last name of the page.
    CHECK(body["next"] == body["channels"].back()["channel"]);
    target = "/channels?limit=2&after=" + body["next"].get<std::string>();
  }
  CHECK(seen == std::vector<std::string>{"a", "b", "c", "d", "e"});
  CHECK(pages.size() == 3);
  CHECK(Get(port, "/channels").Json()["channels"].size() == 5);  // Default: up to 100.

  for (const char* bad : {"/channels?limit=0", "/channels?limit=1001", "/channels?limit=x",
                          "/channels?after=a%20b", "/channels?page=2", "/channels?limit=1&limit=2",
                          "/channels/a%20b", "/channels/", "/channels/a/b", "/channels/a?x=1"}) {
    CAPTURE(bad);
    HttpResponse response = Get(port, bad);
    CHECK(response.status == 400);
    CHECK(response.Json()["error"].is_string());
  }
}

TEST_CASE("with --admin-token, /metrics and /channels need it as a Bearer token") {
  ServerProcess server({"--admin-token", "s3cret"});
  const int port = server.port();
  for (const char* target : {"/metrics", "/channels", "/channels/sport"}) {
    CAPTURE(target);
    HttpResponse missing = Get(port, target);
    CHECK(missing.status == 401);
    CHECK(missing.Header("www-authenticate").find("Bearer") == 0);
    CHECK(GetWith(port, target, "Authorization: Bearer wrong\r\n").status == 403);
    // Never from the URL: it would end up in logs.
    CHECK(Get(port, std::string(target) + "?token=s3cret").status != 200);
    CHECK(GetWith(port, target, "Authorization: Bearer s3cret\r\n").status == 200);
  }
  // The feed itself is not behind the admin token.
  CHECK(PostJson(port, R"({"data": 1})").status == 200);
  CHECK(Get(port, "/healthz").status == 200);
}

TEST_CASE("the admin endpoints take GET and HEAD only, and no body") {
  ServerProcess server({"--cors-origin", "https://app.example"});
  const int port = server.port();
  for (const char* target : {"/metrics", "/channels", "/channels/a"}) {
    CAPTURE(target);
    for (const char* method : {"POST", "DELETE", "OPTIONS"}) {
      CAPTURE(method);
      HttpResponse response = Request(port, method, target);
      CHECK(response.status == 405);
      CHECK(response.Header("allow") == "GET, HEAD");
    }
    HttpConnection with_body(port);
    with_body.Send("GET", target, "abc", "text/plain");
    CHECK(with_body.Read().status == 400);
    HttpConnection head(port);
    head.Send("HEAD", target);
    HttpResponse answer = head.ReadHead();
    CHECK(answer.status == 200);
    CHECK(answer.Header("cache-control") == "no-store");
    // No CORS for them, even with --cors-origin.
    HttpResponse cross = GetWith(port, target, "Origin: https://app.example\r\n");
    CHECK(cross.status == 200);
    CHECK(cross.Header("access-control-allow-origin").empty());
  }
}
