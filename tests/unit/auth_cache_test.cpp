// AuthCache and AuthCacheKey: the hook's answers remembered for a while, bounded.
#include "transport/auth/auth_cache.h"

#include <doctest/doctest.h>

#include <set>
#include <thread>
#include <vector>

namespace livefeed {
namespace {

using std::chrono::seconds;
using SteadyClock = std::chrono::steady_clock;

const SteadyClock::time_point kStart{};

Credentials Presenting(std::string authorization, std::string cookie, std::string token) {
  return {.authorization = std::move(authorization),
          .cookie = std::move(cookie),
          .query_token = std::move(token)};
}

AuthCache Cache(int ttl = 30, std::size_t entries = 100) {
  return AuthCache({.ttl = seconds(ttl), .max_entries = entries});
}

TEST_CASE("an answer is found until the ttl has passed") {
  AuthCache cache = Cache(30);
  CHECK_FALSE(cache.Find("k", kStart));
  cache.Store("k", AllowAuth(), kStart);
  REQUIRE(cache.Find("k", kStart + seconds(29)));
  CHECK(cache.Find("k", kStart + seconds(29))->allowed());
  CHECK_FALSE(cache.Find("k", kStart + seconds(30)));
  CHECK(cache.size() == 0);  // The expired entry went with the lookup.
}

TEST_CASE("a denial is remembered with its message, a failure is not") {
  AuthCache cache = Cache();
  cache.Store("denied", RefuseAuth(403, "no access to user.43"), kStart);
  cache.Store("failed", RefuseAuth(503, "authorization unavailable"), kStart);
  cache.Store("odd", RefuseAuth(401, "?"), kStart);
  REQUIRE(cache.Find("denied", kStart));
  CHECK(cache.Find("denied", kStart)->error == "no access to user.43");
  CHECK_FALSE(cache.Find("failed", kStart));
  CHECK_FALSE(cache.Find("odd", kStart));
}

TEST_CASE("a ttl of zero remembers nothing") {
  AuthCache cache = Cache(0);
  cache.Store("k", AllowAuth(), kStart);
  CHECK_FALSE(cache.Find("k", kStart));
  CHECK(cache.size() == 0);
}

TEST_CASE("the cache holds at most max_entries, dropping the oldest") {
  AuthCache cache = Cache(30, 3);
  for (int i = 0; i < 5; ++i)
    cache.Store("k" + std::to_string(i), AllowAuth(), kStart + seconds(i));
  CHECK(cache.size() == 3);
  CHECK_FALSE(cache.Find("k0", kStart + seconds(5)));
  CHECK_FALSE(cache.Find("k1", kStart + seconds(5)));
  CHECK(cache.Find("k4", kStart + seconds(5)));
}

TEST_CASE("storing a key again replaces its answer and restarts its ttl") {
  AuthCache cache = Cache(30);
  cache.Store("k", AllowAuth(), kStart);
  cache.Store("k", RefuseAuth(403, "revoked"), kStart + seconds(20));
  CHECK(cache.size() == 1);
  REQUIRE(cache.Find("k", kStart + seconds(40)));
  CHECK(cache.Find("k", kStart + seconds(40))->status == 403);
}

TEST_CASE("expired entries make room before a live one is dropped") {
  AuthCache cache = Cache(10, 2);
  cache.Store("old", AllowAuth(), kStart);
  cache.Store("live", AllowAuth(), kStart + seconds(8));
  cache.Store("new", AllowAuth(), kStart + seconds(12));
  CHECK(cache.Find("live", kStart + seconds(12)));
  CHECK(cache.Find("new", kStart + seconds(12)));
}

TEST_CASE("the key tells apart every credential, the action and the channels") {
  const Credentials none;
  const std::vector<std::string> news = {"news"};
  const std::set<std::string> keys = {
      AuthCacheKey(AuthAction::kSubscribe, news, none),
      AuthCacheKey(AuthAction::kPublish, news, none),
      AuthCacheKey(AuthAction::kSubscribe, {"sport"}, none),
      AuthCacheKey(AuthAction::kSubscribe, {"news", "sport"}, none),
      AuthCacheKey(AuthAction::kSubscribe, {"sport", "news"}, none),
      AuthCacheKey(AuthAction::kSubscribe, {"a", "bc"}, none),
      AuthCacheKey(AuthAction::kSubscribe, {"ab", "c"}, none),
      AuthCacheKey(AuthAction::kSubscribe, news, Presenting("Bearer x", "", "")),
      AuthCacheKey(AuthAction::kSubscribe, news, Presenting("", "Bearer x", "")),
      AuthCacheKey(AuthAction::kSubscribe, news, Presenting("", "", "Bearer x")),
      AuthCacheKey(AuthAction::kSubscribe, news, Presenting("", "sid=1", "")),
      AuthCacheKey(AuthAction::kSubscribe, news, Presenting("", "sid=2", "")),
  };
  CHECK(keys.size() == 12);
  CHECK(AuthCacheKey(AuthAction::kSubscribe, news, Presenting("", "sid=1", "")) ==
        AuthCacheKey(AuthAction::kSubscribe, news, Presenting("", "sid=1", "")));
  // A digest: the credentials themselves are not kept.
  CHECK(AuthCacheKey(AuthAction::kSubscribe, news, Presenting("", std::string(5000, 'c'), ""))
            .size() == 32);
}

TEST_CASE("threads store and find at once") {
  AuthCache cache = Cache(30, 50);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&cache, t] {
      for (int i = 0; i < 500; ++i) {
        const std::string key = std::to_string((t * 7 + i) % 80);
        if (!cache.Find(key, kStart)) cache.Store(key, AllowAuth(), kStart);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  CHECK(cache.size() <= 50);
  CHECK(cache.size() > 0);
}

}  // namespace
}  // namespace livefeed
