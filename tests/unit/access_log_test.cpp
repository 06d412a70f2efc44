// The record of an answer: which endpoint it counts under, and what it counts.
#include "http/access_log.h"

#include <doctest/doctest.h>

#include "log.h"

namespace livefeed {
namespace {

using metrics::Endpoint;

TEST_CASE("every request counts under one endpoint label, from its method and path") {
  CHECK(MetricsEndpoint("POST", "/send_feed_item?channel=a") == Endpoint::kPublish);
  CHECK(MetricsEndpoint("GET", "/real_time_feed?since=0") == Endpoint::kLongPoll);
  CHECK(MetricsEndpoint("GET", "/real_time_feed/stream") == Endpoint::kStream);
  CHECK(MetricsEndpoint("GET", "/healthz") == Endpoint::kHealthz);
  CHECK(MetricsEndpoint("GET", "/metrics") == Endpoint::kMetrics);
  CHECK(MetricsEndpoint("GET", "/channels?after=a") == Endpoint::kChannels);
  CHECK(MetricsEndpoint("GET", "/channels/sport") == Endpoint::kChannels);
  CHECK(MetricsEndpoint("GET", "/admin.html") == Endpoint::kStatic);
  CHECK(MetricsEndpoint("HEAD", "/no-such-file") == Endpoint::kStatic);
  CHECK(MetricsEndpoint("DELETE", "/admin.html") == Endpoint::kOther);
  // A request that could not be read.
  CHECK(MetricsEndpoint("-", "") == Endpoint::kOther);
}

TEST_CASE("an answer is timed by endpoint, and a refused publish is counted by its status") {
  SetLogLevel(LogLevel::kWarn);  // The access lines themselves are log_test's.
  metrics::Registry registry;
  Connection connection(-1, 7, "192.0.2.1");
  connection.method = "POST";
  connection.target = "/send_feed_item";
  connection.request_start = Connection::Clock::now();
  RecordAnswer(registry, connection, 200, 100, connection.request_start);
  RecordAnswer(registry, connection, 413, 100, connection.request_start);
  RecordAnswer(registry, connection, 413, 100, connection.request_start);
  connection.method = "GET";  // A 405 to a GET is no publish that was refused.
  RecordAnswer(registry, connection, 405, 100, connection.request_start);
  CHECK(registry.publishes_rejected[413].value() == 2);
  CHECK(registry.publishes_rejected[200].value() == 0);
  CHECK(registry.publishes_rejected[405].value() == 0);
  CHECK(registry.request_duration[Endpoint::kPublish].Snapshot().count() == 4);
  CHECK(registry.request_duration[Endpoint::kLongPoll].Snapshot().count() == 0);
  SetLogLevel(LogLevel::kInfo);
}

}  // namespace
}  // namespace livefeed
