// SseSession without sockets: opening a stream from a query and Last-Event-ID, what a read
// becomes on the wire, how the cursor moves, and when a stream pings or gives up.
#include "transport/sse_stream.h"

#include <doctest/doctest.h>

#include "core/item.h"
#include "transport/sse_format.h"

namespace livefeed {
namespace {

using std::chrono::seconds;
using Clock = SseSession::Clock;

QueryParams Query(std::initializer_list<std::pair<const std::string, std::string>> params) {
  return QueryParams(params);
}

SseSession Open(QueryParams params = {}, const std::string& last_event_id = "",
                SseOptions options = {}) {
  SseSession::Opened opened = SseSession::Open(params, last_event_id, options);
  REQUIRE(opened.session);
  return std::move(*opened.session);
}

ReadResult Items(std::vector<ItemPtr> items, bool truncated = false, bool more = false) {
  ReadResult result;
  result.items = std::move(items);
  result.truncated = truncated;
  result.more = more;
  result.head = result.items.empty() ? 0 : result.items.back()->id;
  return result;
}

TEST_CASE("Last-Event-ID is the cursor and wins over since") {
  SseSession session = Open(Query({{"since", "5"}, {"channel", "a,b"}}), "42");
  CHECK(session.cursor() == 42);
  CHECK_FALSE(session.from_now());
  CHECK(session.channels() == std::vector<std::string>{"a", "b"});
}

TEST_CASE("without a cursor a stream starts from now and reads nothing until woken") {
  SseSession session = Open();
  CHECK(session.from_now());
  session.StartAt(99);
  CHECK(session.cursor() == 99);
  CHECK_FALSE(session.wants_read());
  session.Wake();
  CHECK(session.wants_read());
}

TEST_CASE("a stream with a cursor reads what is after it at once") {
  CHECK(Open(Query({{"since", "0"}})).wants_read());
  CHECK(Open({}, "7").wants_read());
}

TEST_CASE("a stream refuses a bad Last-Event-ID, a timeout and a bad typed value") {
  CHECK(SseSession::Open(Query({}), "abc", {}).error.status == 400);
  const Reply timeout = SseSession::Open(Query({{"timeout", "5"}}), "", {}).error;
  CHECK(timeout.status == 400);
  CHECK(timeout.body.find("does not apply to a stream") != std::string::npos);
  CHECK(SseSession::Open(Query({{"typed", "yes"}}), "", {}).error.status == 400);
}

TEST_CASE("a stream opens with the retry interval and a comment") {
  CHECK(Open({}, "", {.retry_ms = 1500}).Opening() == "retry: 1500\n\n: livefeed stream\n\n");
}

TEST_CASE("each line of a payload becomes its own data line") {
  std::string out;
  AppendSseEvent(out, 7, "news", "one\ntwo\r\nthree\rfour");
  CHECK(out == "id: 7\nevent: news\ndata: one\ndata: two\ndata: three\ndata: four\n\n");
}

TEST_CASE("items become events named by type unless untyped, after a truncation notice") {
  const ReadResult result =
      Items({MakeItem(10, 1, {"c", "score", "1"}), MakeItem(11, 2, {"c", "", "2"})}, true);
  const std::string typed = Open(Query({{"since", "3"}})).Format(result);
  // The notice tells where the stream resumes after the gap, as its id and its cursor.
  CHECK(typed ==
        "id: 9\nevent: truncated\ndata: {\"cursor\":9}\n\n"
        "id: 10\nevent: score\ndata: " +
            result.items[0]->json +
            "\n\n"
            "id: 11\ndata: " +
            result.items[1]->json + "\n\n");
  const std::string untyped = Open(Query({{"since", "3"}, {"typed", "0"}})).Format(result);
  CHECK(untyped.find("event: score") == std::string::npos);
}

TEST_CASE("a truncation notice without items resumes at the store's head") {
  ReadResult result = Items({}, true);
  result.head = 99;
  CHECK(Open(Query({{"since", "3"}})).Format(result) ==
        "id: 99\nevent: truncated\ndata: {\"cursor\":99}\n\n");
}

TEST_CASE("a read asks for one bounded batch after the cursor, the cursor moves past it") {
  SseSession session = Open(Query({{"since", "5"}}), "", {.max_items = 10, .batch_bytes = 4096});
  const ReadRequest read = session.BeginRead();
  CHECK(read.since == 5);
  CHECK(read.max_items == 10);
  CHECK(read.max_bytes == 4096);
  CHECK_FALSE(session.wants_read());
  session.Advance(Items({MakeItem(6, 1, {"c", "", "1"}), MakeItem(8, 1, {"c", "", "1"})}));
  CHECK(session.cursor() == 8);
  CHECK_FALSE(session.wants_read());
  // A batch that could not hold everything asks for the next one at once.
  session.BeginRead();
  session.Advance(Items({MakeItem(9, 1, {"c", "", "1"})}, false, /*more=*/true));
  CHECK(session.cursor() == 9);
  CHECK(session.wants_read());
}

TEST_CASE("a failed read leaves the cursor where it was") {
  SseSession session = Open(Query({{"since", "5"}}));
  session.BeginRead();
  ReadResult failed;
  failed.status = StoreStatus::kUnavailable;
  CHECK(session.Format(failed).empty());
  session.Advance(failed);
  CHECK(session.cursor() == 5);
}

TEST_CASE("streams at the same cursor and channels share a key, typed or not, they do not") {
  CHECK(Open(Query({{"since", "5"}})).ReadKey() == Open({}, "5").ReadKey());
  CHECK(Open(Query({{"since", "5"}})).ReadKey() != Open(Query({{"since", "6"}})).ReadKey());
  CHECK(Open(Query({{"since", "5"}})).ReadKey() !=
        Open(Query({{"since", "5"}, {"typed", "0"}})).ReadKey());
  CHECK(Open(Query({{"since", "5"}})).ReadKey() !=
        Open(Query({{"since", "5"}, {"channel", "x"}})).ReadKey());
}

TEST_CASE("a quiet stream pings once per interval") {
  SseSession session = Open({}, "", {.ping_interval = seconds(15)});
  const Clock::time_point start = Clock::now();
  Clock::time_point next;
  CHECK(session.OnTimer(start + seconds(10), false, start, next) == SseSession::Check::kNothing);
  CHECK(next == start + seconds(15));
  CHECK(session.OnTimer(start + seconds(15), false, start, next) == SseSession::Check::kPing);
  CHECK(next == start + seconds(30));
}

TEST_CASE("a stream whose client takes nothing is given up only after the write timeout") {
  SseSession session = Open({}, "", {.ping_interval = seconds(15), .write_timeout = seconds(60)});
  const Clock::time_point taken = Clock::now();
  Clock::time_point next;
  CHECK(session.OnTimer(taken + seconds(59), true, taken, next) == SseSession::Check::kNothing);
  CHECK(next == taken + seconds(60));
  CHECK(session.OnTimer(taken + seconds(60), true, taken, next) == SseSession::Check::kStalled);
}

TEST_CASE("a stream with a token is checked at its expiry at the latest, and ends there") {
  SseSession session = Open({}, "", {.ping_interval = seconds(15), .write_timeout = seconds(60)});
  const Clock::time_point start = Clock::now();
  session.ExpireAt(start + seconds(5));
  Clock::time_point next;
  CHECK(session.OnTimer(start + seconds(1), false, start, next) == SseSession::Check::kNothing);
  CHECK(next == start + seconds(5));  // Not the ping at 15 s.
  CHECK(session.OnTimer(start + seconds(1), true, start, next) == SseSession::Check::kNothing);
  CHECK(next == start + seconds(5));  // Not the write timeout at 60 s.
  CHECK(session.OnTimer(start + seconds(5), false, start, next) == SseSession::Check::kExpired);
  // A client that is behind is told too, after what it was sent.
  CHECK(session.OnTimer(start + seconds(6), true, start, next) == SseSession::Check::kExpired);
}

TEST_CASE("a stream whose token outlasts its checks pings as usual") {
  SseSession session = Open({}, "", {.ping_interval = seconds(15)});
  const Clock::time_point start = Clock::now();
  session.ExpireAt(start + seconds(3600));
  Clock::time_point next;
  CHECK(session.OnTimer(start + seconds(15), false, start, next) == SseSession::Check::kPing);
  CHECK(next == start + seconds(30));
}

}  // namespace
}  // namespace livefeed
