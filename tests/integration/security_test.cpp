// Attacks and access control against the real binary: tokens, CORS, slow and flooding
// clients, duplicate publishes, resource limits. The server must refuse cleanly and go on
// serving everyone else.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <memory>
#include <thread>
#include <vector>

#include "support/feed_helpers.h"
#include "support/sse_client.h"

using namespace livefeed::testing;
using std::chrono::milliseconds;
using std::chrono::seconds;

TEST_CASE("with a publish token, publishing needs it: none 401, wrong 403, right 200") {
  ServerProcess server({"--publish-token", "s3cret-token", "--log-level", "info"});
  const std::string body = "{\"data\":1}";
  auto none = Send(server.port(), "POST", "/send_feed_item", "", body, "application/json");
  CHECK(none.status == 401);
  CHECK(none.Json()["error"].is_string());
  CHECK(none.Header("www-authenticate").find("Bearer") == 0);
  auto wrong = Send(server.port(), "POST", "/send_feed_item",
                    "Authorization: Bearer s3cret-tokeX\r\n", body, "application/json");
  CHECK(wrong.status == 403);
  // The query string is no place for a publish token: it ends up in logs and histories.
  auto in_query = Send(server.port(), "POST", "/send_feed_item?token=s3cret-token", "", body,
                       "application/json");
  CHECK(in_query.status == 401);
  auto right = Send(server.port(), "POST", "/send_feed_item",
                    "Authorization: Bearer s3cret-token\r\n", body, "application/json");
  CHECK(right.status == 200);
  CHECK(Get(server.port(), "/real_time_feed?since=0").Json()["items"].size() == 1);
  CHECK(server.Log().find("s3cret-token") == std::string::npos);
}

TEST_CASE("with a subscribe token, polls and streams need it, in a header or the query") {
  ServerProcess server({"--subscribe-token", "sub-tok", "--log-level", "info"});
  CHECK(Get(server.port(), "/real_time_feed?since=0&timeout=1").status == 401);
  CHECK(Get(server.port(), "/real_time_feed?since=0&timeout=1&token=nope").status == 403);
  CHECK(Get(server.port(), "/real_time_feed?since=0&timeout=1&token=sub-tok").status == 200);
  CHECK(Send(server.port(), "GET", "/real_time_feed?since=0&timeout=1",
             "Authorization: Bearer sub-tok\r\n")
            .status == 200);
  SseClient refused(server.port(), "/real_time_feed/stream");
  CHECK(refused.head().status == 401);
  SseClient allowed(server.port(), "/real_time_feed/stream?token=sub-tok");
  CHECK(allowed.head().status == 200);
  // Publishing stays open: the tokens are separate.
  CHECK(PostJson(server.port(), "{\"data\":1}").status == 200);
  CHECK(server.Log().find("sub-tok") == std::string::npos);
}

TEST_CASE("without --cors-origin no CORS headers are sent") {
  ServerProcess server;
  auto response = Send(server.port(), "GET", "/real_time_feed?since=0&timeout=1",
                       "Origin: https://example.com\r\n");
  CHECK(response.status == 200);
  CHECK(response.Header("access-control-allow-origin").empty());
  CHECK(
      Send(server.port(), "OPTIONS", "/send_feed_item", "Origin: https://example.com\r\n").status ==
      405);
}

TEST_CASE("CORS: allowed origins get preflights and headers, others do not") {
  ServerProcess server({"--cors-origin", "https://app.example,*"});
  auto preflight = Send(server.port(), "OPTIONS", "/send_feed_item",
                        "Origin: https://app.example\r\nAccess-Control-Request-Method: POST\r\n"
                        "Access-Control-Request-Headers: content-type\r\n");
  CHECK(preflight.status == 204);
  CHECK(preflight.Header("access-control-allow-origin") == "https://app.example");
  CHECK(preflight.Header("access-control-allow-methods").find("POST") != std::string::npos);
  CHECK(preflight.Header("access-control-allow-headers").find("Content-Type") != std::string::npos);

  // "*" opens subscribing to any page, never publishing.
  auto foreign =
      Send(server.port(), "OPTIONS", "/send_feed_item", "Origin: https://evil.example\r\n");
  CHECK(foreign.status == 403);
  auto publish = Send(server.port(), "POST", "/send_feed_item", "Origin: https://evil.example\r\n",
                      "{\"data\":1}", "application/json");
  CHECK(publish.Header("access-control-allow-origin").empty());
  auto subscribe = Send(server.port(), "GET", "/real_time_feed?since=0&timeout=1",
                        "Origin: https://evil.example\r\n");
  CHECK(subscribe.Header("access-control-allow-origin") == "*");
  auto own = Send(server.port(), "POST", "/send_feed_item", "Origin: https://app.example\r\n",
                  "{\"data\":1}", "application/json");
  CHECK(own.status == 200);
  CHECK(own.Header("access-control-allow-origin") == "https://app.example");
  CHECK(own.Header("vary") == "Origin");
}

TEST_CASE("a retried publish with the same Idempotency-Key adds nothing and answers the first id") {
  ServerProcess server;
  const std::string body = "{\"data\":\"once\"}";
  auto first = Send(server.port(), "POST", "/send_feed_item", "Idempotency-Key: order-42\r\n", body,
                    "application/json");
  auto retry = Send(server.port(), "POST", "/send_feed_item", "Idempotency-Key: order-42\r\n", body,
                    "application/json");
  REQUIRE(first.status == 200);
  REQUIRE(retry.status == 200);
  CHECK(retry.Json()["id"] == first.Json()["id"]);
  CHECK(retry.Header("idempotent-replayed") == "true");
  auto other = Send(server.port(), "POST", "/send_feed_item", "Idempotency-Key: order-43\r\n", body,
                    "application/json");
  CHECK(other.Json()["id"] != first.Json()["id"]);
  CHECK(Get(server.port(), "/real_time_feed?since=0").Json()["items"].size() == 2);
}

TEST_CASE("a client sending its headers a byte at a time is cut off, others are served meanwhile") {
  ServerProcess server({"--header-timeout", "2"});
  HttpConnection slow(server.port());
  const std::string head =
      "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
  bool cut_off = false;
  for (char c : head) {
    if (!slow.SendRaw(std::string(1, c))) {
      cut_off = true;
      break;
    }
    // Others are served while the slow client trickles.
    REQUIRE(Get(server.port(), "/healthz").status == 200);
    if (slow.WaitForClose(milliseconds(200))) {
      cut_off = true;
      break;
    }
  }
  CHECK(cut_off);
}

TEST_CASE("a flood of silent connections does not lock out a normal client for long") {
  ServerProcess server({"--max-connections", "50", "--header-timeout", "1"});
  std::vector<std::unique_ptr<HttpConnection>> flood;
  for (int i = 0; i < 80; ++i) flood.push_back(std::make_unique<HttpConnection>(server.port()));
  // At the cap clients get 503 + Retry-After; the silent ones are dropped after the header
  // timeout, and a client that retries gets in.
  CHECK(WaitUntil([&] { return Get(server.port(), "/healthz").status == 200; }, seconds(20)));
  int closed = 0;
  for (auto& c : flood) closed += c->WaitForClose(seconds(5)) ? 1 : 0;
  CHECK(closed == 80);
}

TEST_CASE("oversize headers are refused and the server keeps serving") {
  ServerProcess server;
  HttpConnection huge(server.port());
  huge.SendRaw("GET /healthz HTTP/1.1\r\nHost: x\r\n");
  for (int i = 0; i < 200; ++i)
    huge.SendRaw("X-Filler-" + std::to_string(i) + ": " + std::string(1000, 'a') + "\r\n");
  huge.SendRaw("\r\n");
  auto response = huge.Read(seconds(10));
  CHECK(response.status != 200);
  CHECK(huge.WaitForClose(seconds(10)));
  CHECK(Get(server.port(), "/healthz").status == 200);
}

TEST_CASE("publishing to more channels than --max-channels is refused, existing ones still work") {
  ServerProcess server({"--max-channels", "3"});
  for (const char* channel : {"a", "b", "c"}) Publish(server.port(), "1", channel);
  auto refused = PostJson(server.port(), "{\"data\":1,\"channel\":\"d\"}");
  CHECK(refused.status == 507);
  CHECK(refused.Json()["error"].is_string());
  CHECK(PostJson(server.port(), "{\"data\":2,\"channel\":\"a\"}").status == 200);
}

TEST_CASE("a publisher flood does not starve waiting subscribers") {
  ServerProcess server;
  const auto start = Publish(server.port(), "0", "quiet");
  HttpConnection waiting(server.port());
  waiting.Send("GET", "/real_time_feed?channel=quiet&since=" + std::to_string(start));
  REQUIRE(WaitForWaiters(server.port(), 1));
  std::atomic<bool> flooding{true};
  std::vector<std::thread> flooders;
  for (int t = 0; t < 4; ++t) {
    flooders.emplace_back([&] {
      HttpConnection publisher(server.port());
      while (flooding) {
        publisher.Send("POST", "/send_feed_item", "{\"data\":\"noise\",\"channel\":\"busy\"}",
                       "application/json");
        if (publisher.Read().status != 200) break;
      }
    });
  }
  const auto id = Publish(server.port(), "\"signal\"", "quiet");
  auto answer = waiting.Read(seconds(10)).Json();
  flooding = false;
  for (auto& t : flooders) t.join();
  REQUIRE(answer.is_object());
  CHECK(answer["items"][0]["id"] == id);
}

TEST_CASE("binding beyond loopback without a publish token warns that anyone can publish") {
  ServerProcess open_server({"--bind", "0.0.0.0"});
  CHECK(open_server.Log().find("anyone who can reach this server can publish") !=
        std::string::npos);
  ServerProcess loopback;
  CHECK(loopback.Log().find("anyone who can reach") == std::string::npos);
}

TEST_CASE("every feed endpoint refuses other methods with 405, Allow and a JSON error") {
  ServerProcess server;
  struct Case {
    std::string method, target, allow;
  };
  const Case cases[] = {
      {"POST", "/real_time_feed", "GET, HEAD"},
      {"PUT", "/real_time_feed", "GET, HEAD"},
      {"DELETE", "/real_time_feed/stream", "GET, HEAD"},
      {"PATCH", "/healthz", "GET, HEAD"},
      {"PUT", "/send_feed_item", "POST"},
      {"OPTIONS", "/send_feed_item", "POST"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.method);
    CAPTURE(c.target);
    auto response = Send(server.port(), c.method, c.target, "");
    CHECK(response.status == 405);
    CHECK(response.Header("allow") == c.allow);
    CHECK(response.Json()["error"].is_string());
  }
  CHECK(Get(server.port(), "/healthz").status == 200);
}

TEST_CASE("a form body with invalid UTF-8 is refused and nothing is stored") {
  ServerProcess server;
  auto response = Request(server.port(), "POST", "/send_feed_item", "text=%FF%FE",
                          "application/x-www-form-urlencoded");
  CHECK(response.status == 400);
  CHECK(response.Json()["error"].is_string());
  CHECK(Get(server.port(), "/real_time_feed?since=0&timeout=1").Json()["items"].empty());
}
