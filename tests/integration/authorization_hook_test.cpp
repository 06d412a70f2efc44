// The authorization hook (--auth-url) against the real binary and a real application
// (support/auth_app.h) started by each test on a free loopback port: what the application
// is asked, how its answers, its silence and its absence reach the client, and how often
// it is asked.
#include <doctest/doctest.h>

#include "support/auth_app.h"
#include "support/feed_helpers.h"
#include "support/sse_client.h"

using namespace livefeed::testing;
using nlohmann::json;
using std::chrono::seconds;

namespace {

std::vector<std::string> HookArgs(int app_port, std::vector<std::string> more = {}) {
  std::vector<std::string> args = {"--auth-url",
                                   "http://127.0.0.1:" + std::to_string(app_port) + "/authorize"};
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

const std::string kCredentials = "Cookie: session=abc123\r\nAuthorization: Bearer user-42\r\n";

HttpResponse Poll(int port, const std::string& query, const std::string& headers = kCredentials) {
  return Send(port, "GET", "/real_time_feed?" + query, headers);
}

HttpResponse PublishWith(int port, const std::string& body,
                         const std::string& headers = kCredentials) {
  return Send(port, "POST", "/send_feed_item", headers, body, "application/json");
}

void CheckUnavailable(const HttpResponse& response) {
  CHECK(response.status == 503);
  CHECK(response.Header("retry-after") == "5");
  CHECK(response.Json()["error"].get<std::string>().starts_with("authorization unavailable"));
}

}  // namespace

TEST_CASE("the hook is asked with the action, channels, credentials and client, and allows") {
  AuthApp app;
  ServerProcess server(HookArgs(app.port()));
  CHECK(PublishWith(server.port(), R"({"data":1,"channel":"news"})").status == 200);
  HttpResponse poll = Poll(server.port(), "since=0&channel=news,user.42");
  CHECK(poll.status == 200);
  CHECK(poll.Json()["items"].size() == 1);

  const std::vector<AppRequest> requests = app.requests();
  REQUIRE(requests.size() == 2);
  CHECK(requests[0].method == "POST");
  CHECK(requests[0].target == "/authorize");
  CHECK(requests[0].headers.at("content-type") == "application/json");
  CHECK(json::parse(requests[0].body) ==
        json{{"action", "publish"},
             {"channels", {"news"}},
             {"headers", {{"cookie", "session=abc123"}, {"authorization", "Bearer user-42"}}},
             {"client", "127.0.0.1"}});
  const json subscribe = json::parse(requests[1].body);
  CHECK(subscribe["action"] == "subscribe");
  CHECK(subscribe["channels"] == json{"news", "user.42"});
}

TEST_CASE("the hook's 403 refuses, and the application's error is passed on") {
  AuthApp app;
  ServerProcess server(HookArgs(app.port()));
  app.Answer(403, R"({"error": "user 42 may not read user.43"})");
  HttpResponse poll = Poll(server.port(), "since=0&channel=user.43");
  CHECK(poll.status == 403);
  CHECK(poll.Json()["error"] == "user 42 may not read user.43");
  HttpResponse publish = PublishWith(server.port(), R"({"data":1,"channel":"user.43"})");
  CHECK(publish.status == 403);
  SseClient stream(server.port(), "/real_time_feed/stream?channel=user.43", "", 0, kCredentials);
  CHECK(stream.head().status == 403);
  // Nothing was published.
  app.Answer(200);
  CHECK(Poll(server.port(), "since=0&timeout=1&channel=user.43", "Cookie: other=1\r\n")
            .Json()["items"]
            .empty());
}

TEST_CASE("an application that does not answer in time gets the client a 503 with Retry-After") {
  AuthApp app;
  ServerProcess server(HookArgs(app.port(), {"--auth-timeout", "1"}));
  app.Hold();
  CheckUnavailable(Poll(server.port(), "since=0&channel=news"));
  CheckUnavailable(PublishWith(server.port(), R"({"data":1,"channel":"news"})"));
  app.Release();
}

TEST_CASE("an application that answers 500, or is not there at all, gets the client a 503") {
  AuthApp app;
  ServerProcess server(HookArgs(app.port()));
  app.Answer(500, R"({"error": "database down"})");
  CheckUnavailable(Poll(server.port(), "since=0&channel=news"));
  // A failure is not remembered: the next request asks again, and gets in.
  app.Answer(200);
  CHECK(Poll(server.port(), "since=0&timeout=1&channel=news").status == 200);

  ServerProcess orphan(HookArgs(FreeLoopbackPort()));
  CheckUnavailable(Poll(orphan.port(), "since=0&channel=news"));
  CheckUnavailable(PublishWith(orphan.port(), R"({"data":1,"channel":"news"})"));
}

TEST_CASE("a request waiting for the application holds up nobody else") {
  AuthApp app;
  ServerProcess server(HookArgs(app.port(), {"--auth-timeout", "30"}));
  app.Hold();
  HttpConnection waiting(server.port());
  waiting.Send("GET", "/real_time_feed?since=0&timeout=1&channel=news", "", "", kCredentials);
  REQUIRE(app.WaitForCalls(1));
  // The event loop serves others meanwhile.
  CHECK(Health(server.port())["status"] == "ok");
  CHECK(Get(server.port(), "/no-such-page").status == 404);
  app.Release();
  CHECK(waiting.Read().status == 200);
}

TEST_CASE("the hook's answers are cached: many re-polls cost the application one call") {
  AuthApp app;
  ServerProcess server(HookArgs(app.port(), {"--auth-cache", "30"}));
  Publish(server.port(), "1", "news");  // Asked once for the publish.
  REQUIRE(app.calls() == 1);
  for (int i = 0; i < 10; ++i) {
    HttpResponse poll = Poll(server.port(), "since=0&channel=news");
    REQUIRE(poll.status == 200);
    CHECK(poll.Json()["items"].size() == 1);
  }
  CHECK(app.calls() == 2);
  // Other credentials or other channels are another question.
  CHECK(Poll(server.port(), "since=0&channel=news", "Cookie: session=xyz\r\n").status == 200);
  CHECK(Poll(server.port(), "since=0&timeout=1&channel=news,sport").status == 200);
  CHECK(app.calls() == 4);
  // So is a denial: cached too, while the application would now allow.
  app.Answer(403, R"({"error": "no"})");
  CHECK(Poll(server.port(), "since=0&channel=secret").status == 403);
  app.Answer(200);
  CHECK(Poll(server.port(), "since=0&channel=secret").status == 403);
  CHECK(app.calls() == 5);
}

TEST_CASE("with --auth-cache 0 the application is asked every time") {
  AuthApp app;
  ServerProcess server(HookArgs(app.port(), {"--auth-cache", "0"}));
  Publish(server.port(), "1", "news");
  for (int i = 0; i < 3; ++i) CHECK(Poll(server.port(), "since=0&channel=news").status == 200);
  CHECK(app.calls() == 4);
}

TEST_CASE("a stream allowed by the hook opens and delivers") {
  AuthApp app;
  ServerProcess server(HookArgs(app.port()));
  SseClient stream(server.port(), "/real_time_feed/stream?channel=news", "", 0, kCredentials);
  REQUIRE(stream.head().status == 200);
  REQUIRE(WaitForWaiters(server.port(), 1));
  const std::uint64_t id = Publish(server.port(), "\"live\"", "news");
  auto event = stream.NextEvent();
  REQUIRE(event);
  CHECK(event->id == std::to_string(id));
}
