// The SSE transport without sockets: opening a stream from a query and Last-Event-ID, the
// framing of events, and what a wait result becomes on the wire.
#include "transport/sse_stream.h"

#include <doctest/doctest.h>

#include "core/item.h"
#include "transport/sse_format.h"

namespace livefeed {
namespace {

QueryParams Query(std::initializer_list<std::pair<const std::string, std::string>> params) {
  return QueryParams(params);
}

TEST_CASE("Last-Event-ID is the cursor and wins over since") {
  OpenedSseStream opened = OpenSseStream(Query({{"since", "5"}, {"channel", "a,b"}}), "42", {});
  REQUIRE(opened.request);
  CHECK(opened.request->since == 42);
  CHECK_FALSE(opened.request->from_now);
  CHECK(opened.request->channels == std::vector<std::string>{"a", "b"});
}

TEST_CASE("without a cursor a stream starts from now") {
  OpenedSseStream opened = OpenSseStream(Query({}), "", {});
  REQUIRE(opened.request);
  CHECK(opened.request->from_now);
  CHECK(opened.typed);
}

TEST_CASE("a stream refuses a bad Last-Event-ID, a timeout and a bad typed value") {
  CHECK(OpenSseStream(Query({}), "abc", {}).error.status == 400);
  CHECK(OpenSseStream(Query({{"timeout", "5"}}), "", {}).error.status == 400);
  CHECK(OpenSseStream(Query({{"typed", "yes"}}), "", {}).error.status == 400);
  CHECK_FALSE(OpenSseStream(Query({{"typed", "0"}}), "", {}).typed);
}

TEST_CASE("a stream opens with the retry interval and a comment") {
  CHECK(SseOpening({.ping_interval = std::chrono::seconds(1), .retry_ms = 1500, .max_items = 10}) ==
        "retry: 1500\n\n: livefeed stream\n\n");
}

TEST_CASE("each line of a payload becomes its own data line") {
  std::string out;
  AppendSseEvent(out, 7, "news", "one\ntwo\r\nthree\rfour");
  CHECK(out == "id: 7\nevent: news\ndata: one\ndata: two\ndata: three\ndata: four\n\n");
}

TEST_CASE("items become events named by type unless untyped, after a truncation notice") {
  WaitResult result;
  result.status = WaitStatus::kItems;
  result.truncated = true;
  result.items = {MakeItem(10, 1, {"c", "score", "1"}), MakeItem(11, 2, {"c", "", "2"})};
  result.cursor = 11;
  std::string typed;
  AppendSseResult(typed, result, 3, true);
  CHECK(typed ==
        "event: truncated\ndata: {\"cursor\":3}\n\n"
        "id: 10\nevent: score\ndata: " +
            result.items[0]->json +
            "\n\n"
            "id: 11\ndata: " +
            result.items[1]->json + "\n\n");
  std::string untyped;
  AppendSseResult(untyped, result, 3, false);
  CHECK(untyped.find("event: score") == std::string::npos);
}

TEST_CASE("a truncation notice without items carries the new cursor as its id") {
  WaitResult result;
  result.status = WaitStatus::kItems;
  result.truncated = true;
  result.cursor = 99;
  std::string out;
  AppendSseResult(out, result, 3, true);
  CHECK(out == "id: 99\nevent: truncated\ndata: {\"cursor\":3}\n\n");
}

}  // namespace
}  // namespace livefeed
