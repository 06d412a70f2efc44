#include "store/redis_url.h"

#include <doctest/doctest.h>

namespace livefeed {
namespace {

RedisEndpoint Parse(const std::string& url) {
  RedisEndpoint endpoint;
  const std::string error = ParseRedisUrl(url, &endpoint);
  CHECK_MESSAGE(error.empty(), url << ": " << error);
  return endpoint;
}

std::string ErrorOf(const std::string& url) {
  RedisEndpoint endpoint;
  return ParseRedisUrl(url, &endpoint);
}

TEST_CASE("redis url: host and port") {
  const RedisEndpoint e = Parse("redis://127.0.0.1:6390");
  CHECK(e.host == "127.0.0.1");
  CHECK(e.port == 6390);
  CHECK(e.password.empty());
  CHECK(e.db == 0);
}

TEST_CASE("redis url: password, database and default port") {
  const RedisEndpoint e = Parse("redis://:s3cret@redis.internal/3");
  CHECK(e.host == "redis.internal");
  CHECK(e.port == 6379);
  CHECK(e.user.empty());
  CHECK(e.password == "s3cret");
  CHECK(e.db == 3);
}

TEST_CASE("redis url: user, percent-encoded password, IPv6") {
  const RedisEndpoint e = Parse("redis://feed:p%40ss%3Aword@[::1]:7000/0");
  CHECK(e.user == "feed");
  CHECK(e.password == "p@ss:word");
  CHECK(e.host == "::1");
  CHECK(e.port == 7000);
  CHECK(DescribeEndpoint(e) == "[::1]:7000");
}

TEST_CASE("redis url: the description never shows the password") {
  const RedisEndpoint e = Parse("redis://:hunter2@localhost:6380/2");
  CHECK(DescribeEndpoint(e) == "localhost:6380/2");
}

TEST_CASE("redis url: malformed URLs are refused with a reason") {
  for (const char* url :
       {"", "localhost:6379", "http://localhost:6379", "redis://", "redis://:6379",
        "redis://host:0", "redis://host:65536", "redis://host:port", "redis://host:6379/x",
        "redis://host:6379/-1", "redis://host:6379?db=1", "redis://user@host", "redis://:@host",
        "redis://:%zz@host", "redis://[::1", "redis://ho st", "redis://host:6379/1/2"}) {
    CAPTURE(url);
    CHECK_FALSE(ErrorOf(url).empty());
  }
}

TEST_CASE("redis prefix: printable, no spaces, bounded") {
  CHECK(CheckRedisPrefix("livefeed:").empty());
  CHECK(CheckRedisPrefix("").empty());
  CHECK_FALSE(CheckRedisPrefix("live feed:").empty());
  CHECK_FALSE(CheckRedisPrefix(std::string(65, 'x')).empty());
  CHECK_FALSE(CheckRedisPrefix("caf\xc3\xa9").empty());
}

}  // namespace
}  // namespace livefeed
