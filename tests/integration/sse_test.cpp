// GET /real_time_feed/stream against the real binary, read with the tests' own SSE parser.
#include <doctest/doctest.h>
#include <signal.h>

#include <thread>

#include "support/feed_helpers.h"
#include "support/sse_client.h"

using namespace livefeed::testing;
using std::chrono::seconds;

namespace {
std::uint64_t IdOf(const SseEvent& event) { return std::stoull(event.id); }

// The stream's next events carry exactly `ids`, in this order.
void CheckNextIds(SseClient& stream, const std::vector<std::uint64_t>& ids) {
  for (std::uint64_t id : ids) {
    auto event = stream.NextEvent();
    REQUIRE(event);
    CHECK(IdOf(*event) == id);
  }
}
}  // namespace

TEST_CASE("a stream opens with retry and a comment, sends the backlog, then live items") {
  ServerProcess server({"--sse-retry", "1500"});
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(Publish(server.port(), std::to_string(i)));

  SseClient stream(server.port(), "/real_time_feed/stream?since=0");
  REQUIRE(stream.head().status == 200);
  CHECK(stream.head().Header("content-type") == "text/event-stream");
  CHECK(stream.head().Header("cache-control") == "no-cache");
  CHECK(stream.head().Header("x-accel-buffering") == "no");
  CHECK(stream.head().Header("content-length").empty());

  auto retry = stream.Next();
  REQUIRE(retry);
  CHECK(retry->retry == 1500);
  auto comment = stream.Next();
  REQUIRE(comment);
  CHECK_FALSE(comment->comment.empty());

  for (auto id : ids) {
    auto event = stream.NextEvent();
    REQUIRE(event);
    CHECK(IdOf(*event) == id);
    CHECK(event->event.empty());
    CHECK(event->Json()["id"] == id);
  }
  const auto live = Publish(server.port(), "{\"live\":true}");
  auto event = stream.NextEvent();
  REQUIRE(event);
  CHECK(IdOf(*event) == live);
  CHECK(event->Json()["data"]["live"] == true);
}

TEST_CASE("Last-Event-ID resumes exactly after that item and wins over since") {
  ServerProcess server;
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(Publish(server.port(), std::to_string(i)));

  SseClient stream(server.port(), "/real_time_feed/stream?since=0", std::to_string(ids[2]));
  CheckNextIds(stream, {ids[3], ids[4]});
  const auto next = Publish(server.port(), "5");
  auto third = stream.NextEvent();
  REQUIRE(third);
  CHECK(IdOf(*third) == next);  // Not a repeat of anything before.
}

TEST_CASE("an item's type names its event, unless the client asks for unnamed events") {
  ServerProcess server;
  const auto id = Publish(server.port(), "\"x\"", "default", "score");
  SseClient named(server.port(), "/real_time_feed/stream?since=0");
  auto event = named.NextEvent();
  REQUIRE(event);
  CHECK(event->event == "score");
  CHECK(IdOf(*event) == id);

  SseClient unnamed(server.port(), "/real_time_feed/stream?since=0&typed=0");
  auto plain = unnamed.NextEvent();
  REQUIRE(plain);
  CHECK(plain->event.empty());
  CHECK(plain->Json()["type"] == "score");
}

TEST_CASE("a payload with newlines arrives intact") {
  ServerProcess server;
  Publish(server.port(), "{\"text\":\"line one\\nline two\\r\\nline three\"}");
  SseClient stream(server.port(), "/real_time_feed/stream?since=0");
  auto event = stream.NextEvent();
  REQUIRE(event);
  CHECK(event->Json()["data"]["text"] == "line one\nline two\r\nline three");
}

TEST_CASE("one stream follows several channels in id order") {
  ServerProcess server;
  const auto a = Publish(server.port(), "1", "a");
  Publish(server.port(), "2", "other");
  const auto b = Publish(server.port(), "3", "b");
  SseClient stream(server.port(), "/real_time_feed/stream?since=0&channel=a,b");
  CheckNextIds(stream, {a, b});
}

TEST_CASE("an idle stream gets keep-alive comments") {
  ServerProcess server({"--ping-interval", "1"});
  SseClient stream(server.port(), "/real_time_feed/stream");
  bool pinged = false;
  for (int i = 0; i < 5 && !pinged; ++i) {
    auto next = stream.Next(seconds(5));
    REQUIRE(next);
    pinged = next->comment == "ping";
  }
  CHECK(pinged);
}

TEST_CASE("a cursor older than the backlog is announced with a truncated event first") {
  ServerProcess server({"--backlog", "2"});
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(Publish(server.port(), std::to_string(i)));
  SseClient stream(server.port(), "/real_time_feed/stream", std::to_string(ids[0]));
  auto notice = stream.NextEvent();
  REQUIRE(notice);
  CHECK(notice->event == "truncated");
  // Where the stream resumes after the gap, as a poll's cursor: just before what is kept.
  CHECK(notice->Json()["cursor"] == ids[3] - 1);
  CHECK(notice->id == std::to_string(ids[3] - 1));
  CheckNextIds(stream, {ids[3], ids[4]});
}

TEST_CASE("a client that leaves a stream is noticed at once") {
  ServerProcess server({"--ping-interval", "600"});
  SseClient stream(server.port(), "/real_time_feed/stream");
  REQUIRE(stream.Next());  // retry
  REQUIRE(WaitForWaiters(server.port(), 1));
  stream.Close();
  CHECK(WaitForWaiters(server.port(), 0));
}

TEST_CASE("a reader that stalls delays neither publishers nor other streams") {
  ServerProcess server;
  SseClient stalled(server.port(), "/real_time_feed/stream", "", /*receive_buffer_bytes=*/4096);
  SseClient reader(server.port(), "/real_time_feed/stream");
  REQUIRE(WaitForWaiters(server.port(), 2));
  // Far more than the stalled socket's buffers hold: its writer blocks early on.
  const std::string payload = "\"" + std::string(60 * 1024, 'x') + "\"";
  std::uint64_t last = 0;
  constexpr int kItems = 100;
  std::thread publisher([&] {
    for (int i = 0; i < kItems; ++i) last = Publish(server.port(), payload);
  });
  int received = 0;
  std::uint64_t last_seen = 0;
  while (received < kItems) {
    auto event = reader.NextEvent(seconds(20));
    if (!event) break;
    last_seen = IdOf(*event);
    ++received;
  }
  publisher.join();
  CHECK(received == kItems);
  CHECK(last_seen == last);
}

TEST_CASE("shutdown ends every stream cleanly and streams count against the connection cap") {
  ServerProcess server({"--max-connections", "3"});
  SseClient first(server.port(), "/real_time_feed/stream");
  SseClient second(server.port(), "/real_time_feed/stream");
  {
    // Two streams and this health check fill the cap: one more is refused.
    HttpConnection third(server.port());
    REQUIRE(WaitForCounts(third, 2, 3));
    CHECK(Get(server.port(), "/healthz").status == 503);
  }
  CHECK(server.Stop(SIGTERM) == 0);
  while (first.Next(seconds(5))) {
  }
  while (second.Next(seconds(5))) {
  }
  CHECK(first.ended());
  CHECK(second.ended());
}

TEST_CASE("a malformed Last-Event-ID or query is refused with 400") {
  ServerProcess server;
  SseClient bad_id(server.port(), "/real_time_feed/stream", "not-a-number");
  CHECK(bad_id.head().status == 400);
  SseClient bad_channel(server.port(), "/real_time_feed/stream?channel=a%20b");
  CHECK(bad_channel.head().status == 400);
  SseClient bad_typed(server.port(), "/real_time_feed/stream?typed=yes");
  CHECK(bad_typed.head().status == 400);
}
