// What an operator sees of the real binary: X-Request-Id on every answer, the JSON access
// log, and GET /metrics counting what the server did.
#include <doctest/doctest.h>

#include <memory>
#include <regex>
#include <sstream>
#include <vector>

#include "support/feed_helpers.h"
#include "support/metrics_text.h"
#include "support/sse_client.h"

using namespace livefeed::testing;
using nlohmann::json;
using std::chrono::seconds;

namespace {

bool IsMadeId(const std::string& id) {
  static const std::regex kHex32("[0-9a-f]{32}");
  return std::regex_match(id, kHex32);
}

// The lines of the server's log that parse as JSON objects.
std::vector<json> JsonLines(const std::string& log) {
  std::vector<json> lines;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    json parsed = json::parse(line, nullptr, false);
    if (parsed.is_object()) lines.push_back(std::move(parsed));
  }
  return lines;
}

}  // namespace

TEST_CASE("an incoming X-Request-Id is kept, and every answer without one gets a new one") {
  ServerProcess server({"--web-root", LIVEFEED_SOURCE_DIR "/web", "--max-connections", "4"});
  const int port = server.port();
  const std::string kept = "X-Request-Id: trace-42\r\n";
  CHECK(Send(port, "GET", "/healthz", kept).Header("x-request-id") == "trace-42");
  CHECK(Send(port, "GET", "/index.html", kept).Header("x-request-id") == "trace-42");
  CHECK(Send(port, "GET", "/no-such-page", kept).Header("x-request-id") == "trace-42");
  CHECK(Send(port, "POST", "/send_feed_item", kept, R"({"data":1})", "application/json")
            .Header("x-request-id") == "trace-42");
  CHECK(Send(port, "GET", "/real_time_feed?since=0", kept).Header("x-request-id") == "trace-42");
  CHECK(Send(port, "DELETE", "/send_feed_item", kept).Header("x-request-id") == "trace-42");
  HttpConnection stream(port);
  stream.Send("GET", "/real_time_feed/stream", "", "", kept);
  CHECK(stream.ReadHead().Header("x-request-id") == "trace-42");
  stream.Close();

  const HttpResponse fresh = Get(port, "/healthz");
  CHECK(IsMadeId(fresh.Header("x-request-id")));
  CHECK(Get(port, "/healthz").Header("x-request-id") != fresh.Header("x-request-id"));
  // An id that could split a log line or is absurdly long is replaced.
  CHECK(IsMadeId(
      Send(port, "GET", "/healthz", "X-Request-Id: two words\r\n").Header("x-request-id")));
  CHECK(IsMadeId(Send(port, "GET", "/healthz", "X-Request-Id: " + std::string(201, 'x') + "\r\n")
                     .Header("x-request-id")));
  // Answers to requests that could not be read, and refusals at the connection cap.
  HttpConnection malformed(port);
  malformed.SendRaw("GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n");
  const HttpResponse bad = malformed.Read();
  CHECK(bad.status == 400);
  CHECK(IsMadeId(bad.Header("x-request-id")));
  std::vector<std::unique_ptr<HttpConnection>> held;
  for (int i = 0; i < 4; ++i) {
    held.push_back(std::make_unique<HttpConnection>(port));
    held.back()->Send("GET", "/real_time_feed");
  }
  REQUIRE(WaitUntil([&] {
    HttpResponse busy = Get(port, "/healthz");
    return busy.status == 503 && IsMadeId(busy.Header("x-request-id"));
  }));
}

TEST_CASE("--log-format json writes each access line as one JSON object with its fields") {
  ServerProcess server({"--log-level", "info", "--log-format", "json", "--subscribe-token", "tk"});
  const int port = server.port();
  REQUIRE(Send(port, "GET", "/healthz", "X-Request-Id: trace-7\r\n").status == 200);
  REQUIRE(Get(port, "/real_time_feed?since=0&timeout=1&token=hunter2").status == 403);
  json access, redacted;
  REQUIRE(WaitUntil([&] {
    for (const json& line : JsonLines(server.Log())) {
      if (line.value("request_id", "") == "trace-7") access = line;
      if (line.value("path", "").find("token=") != std::string::npos) redacted = line;
    }
    return access.is_object() && redacted.is_object();
  }));
  CAPTURE(server.Log());
  CHECK(access["level"] == "info");
  CHECK(std::regex_match(access["time"].get<std::string>(),
                         std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")));
  CHECK(access["client"] == "127.0.0.1");
  CHECK(access["method"] == "GET");
  CHECK(access["path"] == "/healthz");
  CHECK(access["status"] == 200);
  CHECK(access["bytes"].get<int>() > 0);
  CHECK(access["duration_ms"].is_number());
  CHECK(access["duration_ms"].get<double>() >= 0);
  // Tokens never reach the log.
  CHECK(redacted["path"] == "/real_time_feed?since=0&timeout=1&token=***");
  CHECK(redacted["status"] == 403);
  CHECK(server.Log().find("hunter2") == std::string::npos);
  // Every line of the log is JSON, the server's own messages too.
  std::istringstream lines(server.Log());
  for (std::string line; std::getline(lines, line);) {
    CAPTURE(line);
    CHECK(json::parse(line, nullptr, false).is_object());
  }
}

TEST_CASE("/metrics counts publishes, refusals, deliveries and waiting subscribers") {
  ServerProcess server;
  const int port = server.port();
  const std::uint64_t start = Publish(port, "1");
  REQUIRE(PostJson(port, R"([{"data": 2}, {"data": 3}])").status == 200);
  // A replay adds nothing.
  HttpConnection replay(port);
  for (int i = 0; i < 2; ++i) {
    replay.Send("POST", "/send_feed_item", R"({"data": 4})", "application/json",
                "Idempotency-Key: once\r\n");
    REQUIRE(replay.Read().status == 200);
  }
  CHECK(Request(port, "POST", "/send_feed_item", "hi", "text/plain").status == 415);
  CHECK(PostJson(port, R"({"data":)").status == 400);
  CHECK(PostJson(port, R"({"nodata": 1})").status == 400);

  CHECK(Get(port, "/real_time_feed?since=" + std::to_string(start)).status == 200);
  SseClient stream(port, "/real_time_feed/stream?since=" + std::to_string(start));
  for (int i = 0; i < 3; ++i) REQUIRE(stream.NextEvent());
  auto held = std::make_unique<HttpConnection>(port);
  held->Send("GET", "/real_time_feed");

  REQUIRE(WaitUntil([&] {
    return Metric(port, R"(livefeed_subscribers_waiting{transport="longpoll"})") == 1 &&
           Metric(port, R"(livefeed_subscribers_waiting{transport="sse"})") == 1;
  }));
  const std::string text = Scrape(port).body;
  CAPTURE(text);
  CHECK(SampleValue(text, "livefeed_items_published_total") == 4);
  CHECK(SampleValue(text, R"(livefeed_publishes_rejected_total{status="400"})") == 2);
  CHECK(SampleValue(text, R"(livefeed_publishes_rejected_total{status="415"})") == 1);
  CHECK(SampleValue(text, R"(livefeed_items_delivered_total{transport="longpoll"})") == 3);
  CHECK(SampleValue(text, R"(livefeed_items_delivered_total{transport="sse"})") == 3);
  CHECK(SampleValue(text, "livefeed_connections_open") >= 3);
  CHECK(SampleValue(text, R"(livefeed_request_duration_seconds_count{endpoint="publish"})") == 7);
  CHECK(SampleValue(text, "livefeed_store_up") == 1);
  CHECK(SampleValue(text, "livefeed_bytes_sent_total").value_or(0) > 1000);
  CHECK(SampleValue(text, "process_open_fds").value_or(0) > 0);

  // The held poll and the stream are woken by news: one latency sample each.
  Publish(port, "5");
  CHECK(held->Read().status == 200);
  REQUIRE(stream.NextEvent());
  CHECK(WaitUntil([&] {
    const std::string after = Scrape(port).body;
    return SampleValue(after, R"(livefeed_delivery_latency_seconds_count{transport="longpoll"})") ==
               1 &&
           SampleValue(after, R"(livefeed_delivery_latency_seconds_count{transport="sse"})") == 1;
  }));
}

TEST_CASE("/metrics counts connections refused at the cap and for a head that never came") {
  ServerProcess server({"--max-connections", "3", "--header-timeout", "1"});
  const int port = server.port();
  {
    std::vector<std::unique_ptr<HttpConnection>> held;
    for (int i = 0; i < 3; ++i) {
      held.push_back(std::make_unique<HttpConnection>(port));
      held.back()->Send("GET", "/real_time_feed");
    }
    REQUIRE(WaitUntil([&] { return Get(port, "/healthz").status == 503; }));
  }
  // The held ones have left once the server sees only the asking connection.
  REQUIRE(WaitUntil([&] { return Health(port)["connections"] == 1; }));
  // A silent connection, and one that trickles its head: both cut off at the header timeout.
  HttpConnection silent(port);
  HttpConnection trickle(port);
  trickle.SendRaw("GET /healthz HTTP/1.1\r\nHost:");
  CHECK(silent.WaitForClose(seconds(10)));
  CHECK(trickle.Read(seconds(10)).status == 408);
  REQUIRE(WaitUntil([&] {
    return Metric(port, R"(livefeed_connections_refused_total{reason="header_timeout"})") == 2;
  }));
  CHECK(Metric(port, R"(livefeed_connections_refused_total{reason="cap"})") >= 1);
}
