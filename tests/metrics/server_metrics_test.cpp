// The real binary's GET /metrics as monitoring reads it: scraped by a real Prometheus (with
// the admin token) and linted by promtool, after real traffic of every kind.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "support/feed_helpers.h"
#include "support/metrics_text.h"
#include "support/prometheus_process.h"
#include "support/sse_client.h"

namespace livefeed::testing {
namespace {

std::string Target(int port) { return "127.0.0.1:" + std::to_string(port); }

bool Is(double expected, double value) { return value == expected; }

// Some of everything the metrics count: publishes (and refusals), a poll answered, a
// stream that got events, a poll and a stream still waiting.
struct Traffic {
  explicit Traffic(int port) : port(port) {
    const std::uint64_t start = Publish(port, "1");
    Publish(port, "2");
    Publish(port, "3", "other");
    CHECK(PostJson(port, R"({"data":)").status == 400);
    CHECK(Get(port, "/real_time_feed?since=" + std::to_string(start)).status == 200);
    stream = std::make_unique<SseClient>(port, "/real_time_feed/stream?since=0");
    CHECK(stream->NextEvent());
    poll = std::make_unique<HttpConnection>(port);
    poll->Send("GET", "/real_time_feed");
  }
  int port;
  std::unique_ptr<SseClient> stream;
  std::unique_ptr<HttpConnection> poll;
};

TEST_CASE("a real Prometheus scrapes the server and sees items published rise") {
  ServerProcess server({"--admin-token", "s3cret"});
  PrometheusProcess prometheus({.targets = {Target(server.port())}, .bearer_token = "s3cret"});
  REQUIRE_MESSAGE(
      prometheus.WaitForValue("up{job=\"livefeed\"}", [](double v) { return Is(1, v); }),
      "targets: " << prometheus.ActiveTargets().dump() << "\nlog: " << prometheus.Log());
  CHECK(
      prometheus.WaitForValue("livefeed_items_published_total", [](double v) { return Is(0, v); }));

  for (int i = 0; i < 3; ++i) Publish(server.port(), std::to_string(i));
  CHECK(
      prometheus.WaitForValue("livefeed_items_published_total", [](double v) { return Is(3, v); }));
  REQUIRE(PostJson(server.port(), R"([{"data": 1}, {"data": 2}])").status == 200);
  CHECK(
      prometheus.WaitForValue("livefeed_items_published_total", [](double v) { return Is(5, v); }));

  // The other families arrive as written: labels, histograms, process and build.
  SseClient stream(server.port(), "/real_time_feed/stream");
  REQUIRE(stream.head().status == 200);
  CHECK(prometheus.WaitForValue("livefeed_subscribers_waiting{transport=\"sse\"}",
                                [](double v) { return Is(1, v); }));
  CHECK(
      prometheus.WaitForValue("sum(livefeed_request_duration_seconds_count{endpoint=\"publish\"})",
                              [](double v) { return v >= 4; }));
  CHECK(prometheus.QueryValue("livefeed_store_up") == 1);
  CHECK(prometheus.QueryValue("process_open_fds").value_or(0) > 0);
  CHECK(prometheus.QueryValue("count(livefeed_build_info)") == 1);
  const nlohmann::json targets = prometheus.ActiveTargets();
  REQUIRE(targets.size() == 1);
  CHECK(targets[0]["lastError"] == "");
}

TEST_CASE("promtool check metrics passes on the server's /metrics after real traffic") {
  ServerProcess server;
  Traffic traffic(server.port());
  REQUIRE(WaitUntil([&] {
    return Metric(server.port(), "livefeed_subscribers_waiting{transport=\"longpoll\"}") == 1;
  }));
  const HttpResponse scrape = Scrape(server.port());
  REQUIRE(scrape.status == 200);
  CHECK(SampleValue(scrape.body, "livefeed_items_delivered_total{transport=\"longpoll\"}") == 1);
  CHECK(scrape.Header("content-type") == "text/plain; version=0.0.4; charset=utf-8");

  // Kept beside the other test output for a look after a failure.
  const std::string path = std::string(LIVEFEED_TEST_OUTPUT_DIR) + "/server-exposition.txt";
  std::ofstream(path) << scrape.body;
  const std::string command =
      std::string(LIVEFEED_PROMTOOL) + " check metrics < '" + path + "' 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe);
  std::string output;
  char buffer[4096];
  while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
  const int status = ::pclose(pipe);
  CHECK_MESSAGE(WIFEXITED(status), output);
  CHECK_MESSAGE(WEXITSTATUS(status) == 0, output);
  CHECK(output.empty());
}

}  // namespace
}  // namespace livefeed::testing
