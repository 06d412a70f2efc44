// LongPollSession without sockets: what a poll reads, and what it answers when.
#include "transport/long_poll.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "core/item.h"

namespace livefeed {
namespace {

using nlohmann::json;
using std::chrono::seconds;
using Clock = LongPollSession::Clock;

LongPollSession Open(QueryParams params, LongPollOptions options = {},
                     Clock::time_point now = Clock::time_point()) {
  LongPollSession::Opened opened = LongPollSession::Open(params, options, now);
  REQUIRE(opened.session);
  return std::move(*opened.session);
}

ReadResult Items(std::vector<ItemPtr> items, bool truncated = false) {
  ReadResult result;
  result.items = std::move(items);
  result.truncated = truncated;
  result.head = 500;
  return result;
}

TEST_CASE("a poll's deadline is its timeout, or the server's default") {
  const Clock::time_point now = Clock::now();
  CHECK(Open({{"timeout", "5"}}, {}, now).deadline() == now + seconds(5));
  CHECK(Open({}, {.default_timeout = seconds(25)}, now).deadline() == now + seconds(25));
}

TEST_CASE("a poll is held no longer than its token lasts") {
  const Clock::time_point now = Clock::now();
  LongPollSession poll = Open({{"timeout", "25"}}, {}, now);
  poll.EndBy(now + seconds(60));  // A token that outlasts the poll changes nothing.
  CHECK(poll.deadline() == now + seconds(25));
  poll.EndBy(now + seconds(2));
  CHECK(poll.deadline() == now + seconds(2));
}

TEST_CASE("bad input is the 400 to answer instead") {
  CHECK(LongPollSession::Open({{"since", "x"}}, {}, Clock::now()).error.status == 400);
  CHECK(LongPollSession::Open({{"timeout", "99"}}, {}, Clock::now()).error.status == 400);
}

TEST_CASE("a poll without since starts at the head it is given") {
  LongPollSession poll = Open({});
  CHECK(poll.from_now());
  poll.StartAt(42);
  CHECK_FALSE(poll.from_now());
  CHECK(poll.NextRead().since == 42);
}

TEST_CASE("a poll reads after its cursor within the answer's bounds") {
  const ReadRequest read =
      Open({{"since", "7"}, {"channel", "a,b"}}, {.max_items = 10, .max_answer_bytes = 999})
          .NextRead();
  CHECK(read.since == 7);
  CHECK(read.channels == std::vector<std::string>{"a", "b"});
  CHECK(read.max_items == 10);
  CHECK(read.max_bytes == 999);
}

TEST_CASE("with nothing new a poll waits, at its deadline it answers empty, cursor unchanged") {
  const LongPollSession poll = Open({{"since", "7"}});
  CHECK_FALSE(poll.Answer(Items({}), false));
  std::optional<Reply> answer = poll.Answer(Items({}), true);
  REQUIRE(answer);
  CHECK(answer->status == 200);
  CHECK(json::parse(answer->body) == json::parse(R"({"items":[],"cursor":7})"));
}

TEST_CASE("items are answered with the last one's id as the cursor") {
  std::optional<Reply> answer =
      Open({{"since", "7"}})
          .Answer(Items({MakeItem(8, 1, {"c", "", "1"}), MakeItem(9, 1, {"c", "", "2"})}), false);
  REQUIRE(answer);
  const json body = json::parse(answer->body);
  CHECK(body["items"].size() == 2);
  CHECK(body["cursor"] == 9);
  CHECK_FALSE(body.contains("truncated"));
  CHECK(answer->headers ==
        std::vector<std::pair<std::string, std::string>>{{"Cache-Control", "no-store"}});
}

TEST_CASE("a truncated read is answered at once, with nothing retained it resumes at the head") {
  std::optional<Reply> answer = Open({{"since", "7"}}).Answer(Items({}, true), false);
  REQUIRE(answer);
  CHECK(json::parse(answer->body) == json::parse(R"({"items":[],"cursor":500,"truncated":true})"));
}

TEST_CASE("a store that cannot be read answers 503 with Retry-After") {
  ReadResult failed;
  failed.status = StoreStatus::kUnavailable;
  std::optional<Reply> answer = Open({{"since", "7"}}).Answer(failed, false);
  REQUIRE(answer);
  CHECK(answer->status == 503);
  CHECK(answer->headers == std::vector<std::pair<std::string, std::string>>{{"Retry-After", "1"}});
}

TEST_CASE("polls at one cursor and channel set share a read key, a final read has its own") {
  CHECK(Open({{"since", "7"}}).ReadKey(false) == Open({{"since", "7"}}).ReadKey(false));
  CHECK(Open({{"since", "7"}}).ReadKey(false) != Open({{"since", "8"}}).ReadKey(false));
  CHECK(Open({{"since", "7"}}).ReadKey(false) != Open({{"since", "7"}}).ReadKey(true));
}

}  // namespace
}  // namespace livefeed
