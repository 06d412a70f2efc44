// The registry: what a bump, a scrape-time source and the build show in the exposition.
#include "metrics/metrics.h"

#include <doctest/doctest.h>

#include <optional>
#include <sstream>
#include <string>

namespace livefeed::metrics {
namespace {

// The value of the sample line that starts with `series` (name and labels, exactly).
std::optional<std::string> SampleValue(const std::string& exposition, const std::string& series) {
  std::istringstream lines(exposition);
  for (std::string line; std::getline(lines, line);) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ') {
      return line.substr(series.size() + 1);
    }
  }
  return std::nullopt;
}

bool HasFamily(const std::string& exposition, const std::string& name) {
  return exposition.find("# TYPE " + name + " ") != std::string::npos;
}

TEST_CASE("bumped instruments show in the exposition under their names and labels") {
  Registry registry;
  registry.items_published.Add(3);
  registry.items_delivered[Transport::kSse].Add(7);
  registry.connections_refused[RefusalReason::kHeaderTimeout].Increment();
  registry.bytes_sent.Add(1000);
  registry.delivery_latency[Transport::kLongPoll].Observe(0.002);
  registry.request_duration[Endpoint::kHealthz].Observe(0.0001);
  const std::string text = registry.Render();
  CHECK(SampleValue(text, "livefeed_items_published_total") == "3");
  CHECK(SampleValue(text, "livefeed_items_delivered_total{transport=\"sse\"}") == "7");
  CHECK(SampleValue(text, "livefeed_items_delivered_total{transport=\"longpoll\"}") == "0");
  CHECK(SampleValue(text, "livefeed_connections_refused_total{reason=\"header_timeout\"}") == "1");
  CHECK(SampleValue(text, "livefeed_connections_refused_total{reason=\"cap\"}") == "0");
  CHECK(SampleValue(text, "livefeed_bytes_sent_total") == "1000");
  CHECK(
      SampleValue(
          text, "livefeed_delivery_latency_seconds_bucket{transport=\"longpoll\",le=\"0.0025\"}") ==
      "1");
  CHECK(SampleValue(text, "livefeed_delivery_latency_seconds_count{transport=\"sse\"}") == "0");
  CHECK(SampleValue(text, "livefeed_request_duration_seconds_count{endpoint=\"healthz\"}") == "1");
  CHECK(SampleValue(text, "livefeed_request_duration_seconds_count{endpoint=\"other\"}") == "0");
}

TEST_CASE("rejected publishes show only the statuses answered, a nonsense status is 'other'") {
  Registry registry;
  CHECK_FALSE(HasFamily(registry.Render(), "livefeed_publishes_rejected_total"));
  registry.publishes_rejected[413].Add(2);
  registry.publishes_rejected[507].Increment();
  registry.publishes_rejected[42].Increment();
  const std::string text = registry.Render();
  CHECK(SampleValue(text, "livefeed_publishes_rejected_total{status=\"413\"}") == "2");
  CHECK(SampleValue(text, "livefeed_publishes_rejected_total{status=\"507\"}") == "1");
  CHECK(SampleValue(text, "livefeed_publishes_rejected_total{status=\"other\"}") == "1");
  CHECK_FALSE(SampleValue(text, "livefeed_publishes_rejected_total{status=\"400\"}"));
}

TEST_CASE("scrape-time sources are read at every render, and left out until set") {
  Registry registry;
  std::string text = registry.Render();
  CHECK_FALSE(HasFamily(text, "livefeed_connections_open"));
  CHECK_FALSE(HasFamily(text, "livefeed_subscribers_waiting"));
  CHECK_FALSE(HasFamily(text, "livefeed_store_up"));

  std::uint64_t open = 5;
  StoreSample store{.up = false, .errors = 9, .reconnects = 2, .evictions = 11};
  registry.SetSources({
      .connections_open = [&] { return open; },
      .subscribers_waiting = [](Transport t) { return t == Transport::kSse ? 4u : 6u; },
      .store = [&] { return store; },
  });
  text = registry.Render();
  CHECK(SampleValue(text, "livefeed_connections_open") == "5");
  CHECK(SampleValue(text, "livefeed_subscribers_waiting{transport=\"longpoll\"}") == "6");
  CHECK(SampleValue(text, "livefeed_subscribers_waiting{transport=\"sse\"}") == "4");
  CHECK(SampleValue(text, "livefeed_store_up") == "0");
  CHECK(SampleValue(text, "livefeed_store_errors_total") == "9");
  CHECK(SampleValue(text, "livefeed_store_reconnects_total") == "2");
  CHECK(SampleValue(text, "livefeed_evictions_total") == "11");

  open = 6;
  store.up = true;
  text = registry.Render();
  CHECK(SampleValue(text, "livefeed_connections_open") == "6");
  CHECK(SampleValue(text, "livefeed_store_up") == "1");
}

TEST_CASE("build info names the version and compiler, and process metrics are present") {
  Registry given({.version = "1.2.3", .compiler = "cc \"x\""});
  CHECK(SampleValue(given.Render(),
                    "livefeed_build_info{version=\"1.2.3\",compiler=\"cc \\\"x\\\"\"}") == "1");
  const std::string text = Registry().Render();
  CHECK(text.find("livefeed_build_info{version=\"") != std::string::npos);
  for (const char* name :
       {"process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds",
        "process_max_fds", "process_start_time_seconds", "process_threads"}) {
    CHECK_MESSAGE(HasFamily(text, name), name);
  }
}

TEST_CASE("every family has HELP and TYPE, and every sample line belongs to a typed family") {
  Registry registry;
  registry.SetSources({.connections_open = [] { return std::uint64_t{1}; }});
  registry.publishes_rejected[400].Increment();
  std::istringstream lines(registry.Render());
  std::string typed;
  int samples = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("# HELP ")) continue;
    if (line.starts_with("# TYPE ")) {
      typed = line.substr(7, line.find(' ', 7) - 7);
      continue;
    }
    ++samples;
    CHECK_MESSAGE(line.starts_with(typed), line);
  }
  CHECK(samples > 100);
}

}  // namespace
}  // namespace livefeed::metrics
