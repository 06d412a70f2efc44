// Authorizer: which requests are decided on the event loop (a signed token, the hook's
// cached answer) and which go to a worker, with real request heads, a real worker pool
// and, for the hook, a real application on a loopback port (support/auth_app.h).
#include "http/authorizer.h"

#include <doctest/doctest.h>

#include <future>

#include "http/auth_hook.h"
#include "store/memory_store.h"
#include "support/auth_app.h"
#include "support/test_tokens.h"
#include "transport/auth/jwt.h"

namespace livefeed {
namespace {

using nlohmann::json;
using std::chrono::seconds;
using SteadyClock = std::chrono::steady_clock;

const std::string kSecret = "a unit-test secret of at least 32 bytes";

// The head of "<request_line>" with `fields` ("Name: value\r\n" lines), as the parser hands
// it over.
RequestHead Head(const std::string& request_line, const std::string& fields = "") {
  RequestParser parser;
  parser.Feed(request_line + " HTTP/1.1\r\nHost: feed.example\r\n" + fields + "\r\n");
  REQUIRE(parser.state() == RequestParser::State::kReady);
  return parser.TakeHead();
}

std::string TokenFor(json subscribe, double life_seconds = 3600) {
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  return testing::MakeToken(
      testing::Hs256Signer(kSecret),
      {{"exp", now + life_seconds}, {"livefeed", {{"subscribe", subscribe}}}});
}

// A server context around `options`, with a store that is never used here.
struct Context {
  explicit Context(HttpOptions options) : context(feed, std::move(options), metrics) {}
  MemoryStore store{{}, SystemWallClock()};
  Feed feed{store};
  metrics::Registry metrics;
  ServerContext context;
  LiveSettingsView live{context.live};
};

HttpOptions WithTokens() {
  HttpOptions options;
  options.live.jwt = std::make_shared<const JwtVerifier>(SignatureKey::Secret(kSecret), "");
  options.live.jwt_cookie = "lf";
  return options;
}

HttpOptions WithHook(int port, std::size_t worker_queue = 16) {
  HttpOptions options;
  options.auth_hook = std::make_shared<AuthHook>(AuthHookOptions{
      .host = "127.0.0.1", .port = port, .path = "/authorize", .timeout = seconds(5)});
  options.workers = 1;
  options.worker_queue = worker_queue;
  return options;
}

const std::vector<std::string> kNews = {"news"};
const std::string kClient = "192.0.2.7";

Authorizer::Question Subscribe(const RequestHead& head, std::string_view query_token = {}) {
  return {.action = AuthAction::kSubscribe,
          .channels = kNews,
          .head = head,
          .query_token = query_token,
          .client = kClient};
}

TEST_CASE("without signed tokens or a hook, the authorizer allows everything at once") {
  Context c{HttpOptions{}};
  const Authorizer authorizer(c.context, c.live);
  CHECK_FALSE(authorizer.enabled());
  const RequestHead head = Head("GET /real_time_feed");
  const std::optional<AuthDecision> decision = authorizer.Decide(Subscribe(head), nullptr);
  REQUIRE(decision);
  CHECK(decision->allowed());
  CHECK_FALSE(Authorizer::SteadyExpiry(*decision));
}

TEST_CASE("a signed token is decided at once, and a stream may last until its expiry") {
  Context c{WithTokens()};
  const Authorizer authorizer(c.context, c.live);
  CHECK(authorizer.enabled());
  const std::string token = TokenFor({"news"});
  // Cookies split over two fields are one list.
  const RequestHead head =
      Head("GET /real_time_feed", "Cookie: a=1\r\nCookie: lf=" + token + "\r\n");
  const SteadyClock::time_point before = SteadyClock::now();
  const std::optional<AuthDecision> decision = authorizer.Decide(Subscribe(head), nullptr);
  REQUIRE(decision);
  CHECK(decision->allowed());
  const std::optional<SteadyClock::time_point> expiry = Authorizer::SteadyExpiry(*decision);
  REQUIRE(expiry);
  // exp is an hour away, plus the leeway allowed for clocks that differ.
  CHECK(*expiry > before + seconds(3600));
  CHECK(*expiry < SteadyClock::now() + seconds(3600) + kJwtLeeway + seconds(1));

  const RequestHead bare = Head("GET /real_time_feed");
  CHECK(authorizer.Decide(Subscribe(bare, token), nullptr)->allowed());
  CHECK(authorizer.Decide(Subscribe(bare), nullptr)->status == 401);
  CHECK(authorizer.Decide(Subscribe(bare, TokenFor({"sport"})), nullptr)->status == 403);
}

TEST_CASE("with signed tokens a publish without a Bearer header is refused before its body") {
  Context c{WithTokens()};
  const Authorizer authorizer(c.context, c.live);
  const std::string token = TokenFor({});
  const std::optional<AuthDecision> none =
      authorizer.CheckPublishHead(Head("POST /send_feed_item", "Cookie: lf=" + token + "\r\n"));
  REQUIRE(none);
  CHECK(none->status == 401);
  // With a header, the token is judged with the channels, once the body is read.
  CHECK_FALSE(authorizer.CheckPublishHead(
      Head("POST /send_feed_item", "Authorization: Bearer " + token + "\r\n")));
  Context open{HttpOptions{}};
  CHECK_FALSE(Authorizer(open.context, open.live).CheckPublishHead(Head("POST /send_feed_item")));
}

TEST_CASE("a token already expired ends its stream at once, and a far one never") {
  AuthDecision decision = AllowAuth(std::chrono::system_clock::now() - seconds(5));
  const std::optional<SteadyClock::time_point> past = Authorizer::SteadyExpiry(decision);
  REQUIRE(past);
  CHECK(*past <= SteadyClock::now());
  decision.expires = std::chrono::system_clock::now() + std::chrono::hours(24 * 365 * 100);
  CHECK_FALSE(Authorizer::SteadyExpiry(decision));
}

TEST_CASE("the hook is asked on a worker, and the same question then answered from its cache") {
  testing::AuthApp app;
  Context c{WithHook(app.port())};
  const Authorizer authorizer(c.context, c.live);
  const RequestHead head = Head("GET /real_time_feed", "Cookie: sid=42\r\n");
  std::promise<AuthDecision> answered;
  const std::thread::id loop = std::this_thread::get_id();
  std::thread::id worker;
  const std::optional<AuthDecision> now = authorizer.Decide(Subscribe(head), [&](AuthDecision d) {
    worker = std::this_thread::get_id();
    answered.set_value(std::move(d));
  });
  CHECK_FALSE(now);  // Not decided on the calling thread.
  std::future<AuthDecision> later = answered.get_future();
  REQUIRE(later.wait_for(seconds(10)) == std::future_status::ready);
  CHECK(later.get().allowed());
  CHECK(worker != loop);
  REQUIRE(app.calls() == 1);
  CHECK(json::parse(app.requests()[0].body)["client"] == kClient);

  const std::optional<AuthDecision> cached =
      authorizer.Decide(Subscribe(head), [](AuthDecision) {});
  REQUIRE(cached);
  CHECK(cached->allowed());
  CHECK(app.calls() == 1);
}

TEST_CASE("with no room left for the hook's question, it is refused at once with 503") {
  testing::AuthApp app;
  Context c{WithHook(app.port(), /*worker_queue=*/0)};
  const Authorizer authorizer(c.context, c.live);
  const RequestHead head = Head("GET /real_time_feed");
  const std::optional<AuthDecision> decision =
      authorizer.Decide(Subscribe(head), [](AuthDecision) {});
  REQUIRE(decision);
  CHECK(decision->status == 503);
  CHECK(RefusalReply(*decision).headers ==
        std::vector<std::pair<std::string, std::string>>{{"Retry-After", "5"}});
  CHECK(app.calls() == 0);
}

}  // namespace
}  // namespace livefeed
