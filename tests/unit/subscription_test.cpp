// ParseSubscription and ParseCursor: the subscriber's query, accepted or answered with a 400.
#include "transport/subscription.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace livefeed {
namespace {

const SubscriptionLimits kLimits{.max_timeout_seconds = 25, .extra_parameters = {}};

ParsedSubscription Parse(const QueryParams& params, const SubscriptionLimits& limits = kLimits) {
  return ParseSubscription(params, limits);
}

// The 400 message for `params`, or "" when they were accepted.
std::string ErrorFor(const QueryParams& params, const SubscriptionLimits& limits = kLimits) {
  ParsedSubscription parsed = Parse(params, limits);
  if (parsed.subscription) return "";
  CHECK(parsed.error.status == 400);
  CHECK(parsed.error.content_type == "application/json");
  return parsed.error.body;
}

TEST_CASE("an empty query follows the default channel from now with the default timeout") {
  ParsedSubscription parsed = Parse({});
  REQUIRE(parsed.subscription);
  CHECK(parsed.subscription->channels == std::vector<std::string>{"default"});
  CHECK_FALSE(parsed.subscription->since);
  CHECK_FALSE(parsed.subscription->timeout_seconds);
}

TEST_CASE("channel may repeat") {
  ParsedSubscription parsed = Parse({{"channel", "a"}, {"channel", "b"}});
  REQUIRE(parsed.subscription);
  CHECK(parsed.subscription->channels == std::vector<std::string>{"a", "b"});
}

TEST_CASE("channel may be a comma separated list") {
  ParsedSubscription parsed = Parse({{"channel", "a,b.c,d:e"}});
  REQUIRE(parsed.subscription);
  CHECK(parsed.subscription->channels == std::vector<std::string>{"a", "b.c", "d:e"});
}

TEST_CASE("a channel named twice is followed once") {
  ParsedSubscription parsed = Parse({{"channel", "a,b,a"}, {"channel", "b"}, {"channel", "c"}});
  REQUIRE(parsed.subscription);
  CHECK(parsed.subscription->channels == std::vector<std::string>{"a", "b", "c"});
}

TEST_CASE("channel names outside the charset are rejected") {
  for (const char* bad : {"", "a b", "a/b", "é", "a\nb", "a,", ",a", "a,,b", "<script>"}) {
    CAPTURE(bad);
    CHECK(ErrorFor({{"channel", bad}}).find("invalid channel name") != std::string::npos);
  }
}

TEST_CASE("channel names longer than 64 characters are rejected") {
  CHECK(ErrorFor({{"channel", std::string(64, 'x')}}).empty());
  CHECK_FALSE(ErrorFor({{"channel", std::string(65, 'x')}}).empty());
}

TEST_CASE("at most 16 distinct channels are accepted") {
  std::string sixteen = "c0";
  for (int i = 1; i < 16; ++i) sixteen += ",c" + std::to_string(i);
  CHECK(ErrorFor({{"channel", sixteen}}).empty());
  // Duplicates do not count against the limit.
  CHECK(ErrorFor({{"channel", sixteen}, {"channel", "c0,c15"}}).empty());
  CHECK(ErrorFor({{"channel", sixteen + ",c16"}}).find("at most 16 channels") != std::string::npos);
}

TEST_CASE("since is a decimal cursor") {
  ParsedSubscription parsed = Parse({{"since", "1700000000000123"}});
  REQUIRE(parsed.subscription);
  CHECK(parsed.subscription->since == 1700000000000123u);
}

TEST_CASE("since=0 asks for everything retained") {
  ParsedSubscription parsed = Parse({{"since", "0"}});
  REQUIRE(parsed.subscription);
  CHECK(parsed.subscription->since == 0u);
}

TEST_CASE("since must be a whole number from 0 to 2^53-1") {
  CHECK(ErrorFor({{"since", "9007199254740991"}}).empty());
  for (const char* bad : {"", "abc", "12abc", "-1", "+1", " 1", "1.5", "1e6", "0x10",
                          "9007199254740992", "18446744073709551616", "99999999999999999999"}) {
    CAPTURE(bad);
    CHECK(ErrorFor({{"since", bad}}).find("'since' must be a cursor") != std::string::npos);
  }
}

TEST_CASE("ParseCursor accepts exactly the cursors 0 .. 2^53-1") {
  CHECK(ParseCursor("0") == 0u);
  CHECK(ParseCursor("42") == 42u);
  CHECK(ParseCursor("9007199254740991") == 9007199254740991u);
  CHECK_FALSE(ParseCursor("9007199254740992"));
  CHECK_FALSE(ParseCursor(""));
  CHECK_FALSE(ParseCursor("-5"));
  CHECK_FALSE(ParseCursor("5 "));
}

TEST_CASE("since given twice is rejected") {
  CHECK(ErrorFor({{"since", "1"}, {"since", "1"}}).find("more than once") != std::string::npos);
}

TEST_CASE("timeout is whole seconds from 0 (answer at once) to the server's maximum") {
  ParsedSubscription parsed = Parse({{"timeout", "25"}});
  REQUIRE(parsed.subscription);
  CHECK(parsed.subscription->timeout_seconds == 25);
  CHECK(ErrorFor({{"timeout", "1"}}).empty());
  CHECK(Parse({{"timeout", "0"}}).subscription->timeout_seconds == 0);
  for (const char* bad : {"26", "-1", "", "abc", "1.5", "99999999999999999999"}) {
    CAPTURE(bad);
    CHECK(ErrorFor({{"timeout", bad}}).find("'timeout' must be whole seconds from 0 to 25") !=
          std::string::npos);
  }
}

TEST_CASE("the timeout maximum comes from the limits") {
  const SubscriptionLimits limits{.max_timeout_seconds = 60, .extra_parameters = {}};
  CHECK(ErrorFor({{"timeout", "60"}}, limits).empty());
  CHECK_FALSE(ErrorFor({{"timeout", "61"}}, limits).empty());
}

TEST_CASE("timeout given twice is rejected") {
  CHECK(ErrorFor({{"timeout", "5"}, {"timeout", "6"}}).find("more than once") != std::string::npos);
}

TEST_CASE("an unknown parameter is rejected") {
  CHECK(ErrorFor({{"chanel", "a"}}).find("unknown parameter 'chanel'") != std::string::npos);
}

TEST_CASE("the cache buster parameter _ is accepted") {
  ParsedSubscription parsed = Parse({{"_", "1700000000000"}, {"channel", "a"}});
  REQUIRE(parsed.subscription);
  CHECK(parsed.subscription->channels == std::vector<std::string>{"a"});
}

TEST_CASE("typed is an unknown parameter unless the endpoint accepts it") {
  CHECK_FALSE(ErrorFor({{"typed", "1"}}).empty());
}

TEST_CASE("typed=0 turns off typed events where the endpoint accepts it") {
  const SubscriptionLimits stream{.max_timeout_seconds = 25, .extra_parameters = {"typed"}};
  ParsedSubscription parsed = Parse({{"typed", "0"}}, stream);
  REQUIRE(parsed.subscription);
  CHECK_FALSE(parsed.subscription->typed_events);
  CHECK(ErrorFor({{"typed", "yes"}}, stream).find("'typed' must be 0 or 1") != std::string::npos);
}

TEST_CASE("an error message quoting the input is valid JSON even for invalid UTF-8") {
  const std::string body = ErrorFor({{"channel", "\xff\xfe"}});
  REQUIRE_FALSE(body.empty());
  const nlohmann::json parsed = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  REQUIRE(parsed.is_object());
  CHECK(parsed["error"].get<std::string>().find("invalid channel name") != std::string::npos);
}

}  // namespace
}  // namespace livefeed
