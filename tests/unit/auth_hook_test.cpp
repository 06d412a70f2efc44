// AuthHook against a real HTTP application on a loopback port (support/auth_app.h):
// allow, deny with the application's reason, timeouts and failures as 503, the cache.
#include "http/auth_hook.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <vector>

#include "support/auth_app.h"

namespace livefeed {
namespace {

using std::chrono::seconds;
using SteadyClock = std::chrono::steady_clock;
using testing::AuthApp;

const SteadyClock::time_point kStart{};

AuthHookOptions OptionsFor(int port, int cache_seconds = 30) {
  AuthHookOptions options;
  options.host = "127.0.0.1";
  options.port = port;
  options.path = "/authorize";
  options.timeout = std::chrono::milliseconds(300);
  options.cache = {.ttl = seconds(cache_seconds), .max_entries = 100};
  return options;
}

AuthQuestion Question(std::vector<std::string> channels = {"news"},
                      AuthAction action = AuthAction::kSubscribe) {
  return {.action = action,
          .channels = std::move(channels),
          .credentials = {.authorization = "Bearer abc", .cookie = "sid=42", .query_token = ""},
          .client = "192.0.2.7"};
}

TEST_CASE("the application's 200 allows, and it is told who asks for what") {
  AuthApp app;
  AuthHook hook(OptionsFor(app.port()));
  const AuthDecision decision =
      hook.Authorize(Question({"news", "user.42"}, AuthAction::kPublish), kStart);
  CHECK(decision.allowed());
  CHECK_FALSE(decision.expires);
  REQUIRE(app.calls() == 1);
  const testing::AppRequest request = app.requests()[0];
  CHECK(request.method == "POST");
  CHECK(request.target == "/authorize");
  CHECK(request.headers.at("content-type") == "application/json");
  CHECK(nlohmann::json::parse(request.body) ==
        nlohmann::json{{"action", "publish"},
                       {"channels", {"news", "user.42"}},
                       {"headers", {{"cookie", "sid=42"}, {"authorization", "Bearer abc"}}},
                       {"client", "192.0.2.7"}});
}

TEST_CASE("headers the request did not send are left out of the application's question") {
  AuthApp app;
  AuthHook hook(OptionsFor(app.port()));
  AuthQuestion question = Question();
  question.credentials = {};
  CHECK(hook.Authorize(question, kStart).allowed());
  REQUIRE(app.calls() == 1);
  CHECK(nlohmann::json::parse(app.requests()[0].body)["headers"] == nlohmann::json::object());
}

TEST_CASE("the application's 403 denies and its error is passed on") {
  AuthApp app;
  app.Answer(403, R"({"error": "user 42 may not follow user.43"})");
  AuthHook hook(OptionsFor(app.port()));
  const AuthDecision decision = hook.Authorize(Question({"user.43"}), kStart);
  CHECK(decision.status == 403);
  CHECK(decision.error == "user 42 may not follow user.43");
}

TEST_CASE("a 403 without a JSON error gets a reason of our own") {
  AuthApp app;
  for (const char* body : {"", "Forbidden", "{\"error\": 7}", "[]"}) {
    CAPTURE(body);
    app.Answer(403, body);
    AuthHook hook(OptionsFor(app.port()));
    const AuthDecision decision = hook.Authorize(Question(), kStart);
    CHECK(decision.status == 403);
    CHECK(decision.error == "not allowed to subscribe on these channels");
  }
}

TEST_CASE("an application that does not answer in time gets the request refused with 503") {
  AuthApp app;
  app.Hold();
  AuthHook hook(OptionsFor(app.port()));
  const AuthDecision decision = hook.Authorize(Question(), kStart);
  CHECK(decision.status == 503);
  CHECK(decision.error == "authorization unavailable: no answer within 300 ms");
  CHECK(app.calls() == 1);
  // Retryable: the reply tells the client when.
  const Reply reply = RefusalReply(decision);
  CHECK(reply.status == 503);
  CHECK(std::count(reply.headers.begin(), reply.headers.end(),
                   std::pair<std::string, std::string>{"Retry-After", "5"}) == 1);
}

TEST_CASE("an application that is down gets the request refused with 503") {
  int port = 0;
  {
    AuthApp app;  // Gone at the end of the block: nothing listens on its port any more.
    port = app.port();
  }
  AuthHook hook(OptionsFor(port));
  const AuthDecision decision = hook.Authorize(Question(), kStart);
  CHECK(decision.status == 503);
  CHECK(decision.error.find("authorization unavailable: cannot reach 127.0.0.1:") == 0);
}

TEST_CASE("any answer but 200 and 403 refuses with 503, never 403") {
  AuthApp app;
  for (int status : {500, 502, 401, 404, 302, 204, 201}) {
    CAPTURE(status);
    app.Answer(status, R"({"error": "should not reach the client"})");
    AuthHook hook(OptionsFor(app.port()));
    const AuthDecision decision = hook.Authorize(Question(), kStart);
    CHECK(decision.status == 503);
    CHECK(decision.error ==
          "authorization unavailable: the application answered " + std::to_string(status));
  }
  app.CloseSilently();
  AuthHook hook(OptionsFor(app.port()));
  const AuthDecision closed = hook.Authorize(Question(), kStart);
  CHECK(closed.status == 503);
  CHECK(closed.error.find("authorization unavailable: no answer from 127.0.0.1:") == 0);
}

TEST_CASE("a large answer is read and dropped beyond what the reason needs") {
  AuthApp app;
  app.Answer(200, std::string(1 << 20, ' ') + "{}");
  AuthHook hook(OptionsFor(app.port()));
  CHECK(hook.Authorize(Question(), kStart).allowed());
}

TEST_CASE("re-polls within the cache time cost the application one call") {
  AuthApp app;
  AuthHook hook(OptionsFor(app.port(), 30));
  CHECK_FALSE(hook.Cached(Question(), kStart));
  for (int i = 0; i < 20; ++i) CHECK(hook.Authorize(Question(), kStart + seconds(i)).allowed());
  CHECK(app.calls() == 1);
  REQUIRE(hook.Cached(Question(), kStart + seconds(20)));
  // Another question, and the same one once the answer is 30 s old, are asked again.
  CHECK(hook.Authorize(Question({"sport"}), kStart).allowed());
  CHECK(app.calls() == 2);
  CHECK(hook.Authorize(Question(), kStart + seconds(30)).allowed());
  CHECK(app.calls() == 3);
}

TEST_CASE("a denial is cached too, and a failure is not") {
  AuthApp app;
  app.Answer(403, R"({"error": "no"})");
  AuthHook hook(OptionsFor(app.port()));
  CHECK(hook.Authorize(Question(), kStart).status == 403);
  CHECK(hook.Authorize(Question(), kStart).status == 403);
  CHECK(app.calls() == 1);
  app.Answer(500);
  CHECK(hook.Authorize(Question({"sport"}), kStart).status == 503);
  app.Answer(200);
  CHECK(hook.Authorize(Question({"sport"}), kStart).allowed());
  CHECK(app.calls() == 3);
}

TEST_CASE("with --auth-cache 0 every request asks the application") {
  AuthApp app;
  AuthHook hook(OptionsFor(app.port(), 0));
  for (int i = 0; i < 3; ++i) CHECK(hook.Authorize(Question(), kStart).allowed());
  CHECK(app.calls() == 3);
}

TEST_CASE("calls from several workers at once each get their answer") {
  AuthApp app;
  app.Hold();
  AuthHookOptions options = OptionsFor(app.port(), 0);
  // Long enough that calls made one after another could not all arrive within the wait
  // below: only calls made side by side can.
  options.timeout = std::chrono::minutes(1);
  AuthHook hook(options);
  std::vector<std::optional<AuthDecision>> decisions(4);
  std::vector<std::thread> workers;
  for (std::size_t i = 0; i < decisions.size(); ++i) {
    workers.emplace_back([&, i] { decisions[i] = hook.Authorize(Question(), kStart); });
  }
  // All four reach the application while none is answered: no call waits for another.
  CHECK(app.WaitForCalls(4, seconds(20)));
  app.Release();
  for (std::thread& worker : workers) worker.join();
  for (const auto& decision : decisions) {
    REQUIRE(decision);
    CHECK(decision->allowed());
  }
}

}  // namespace
}  // namespace livefeed
