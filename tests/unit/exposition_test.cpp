// The text exposition format, version 0.0.4: HELP/TYPE lines, label and help escaping,
// number spelling, and a histogram's _bucket/_sum/_count lines.
#include "metrics/exposition.h"

#include <doctest/doctest.h>

#include <array>
#include <limits>

namespace livefeed::metrics {
namespace {

TEST_CASE("a family opens with its HELP and TYPE lines, then its samples") {
  ExpositionWriter out;
  out.Family("livefeed_items_published_total", MetricType::kCounter, "Items published.");
  out.Sample("livefeed_items_published_total", {}, std::uint64_t{42});
  CHECK(out.text() ==
        "# HELP livefeed_items_published_total Items published.\n"
        "# TYPE livefeed_items_published_total counter\n"
        "livefeed_items_published_total 42\n");
}

TEST_CASE("help text escapes backslashes and newlines") {
  ExpositionWriter out;
  out.Family("x", MetricType::kGauge, "a\\b\nc \"quoted\"");
  CHECK(out.text().starts_with("# HELP x a\\\\b\\nc \"quoted\"\n# TYPE x gauge\n"));
}

TEST_CASE("label values escape backslashes, double quotes and newlines") {
  ExpositionWriter out;
  out.Sample("x", {{"a", "1"}, {"b", "q\"\\\nz"}}, std::int64_t{-3});
  CHECK(out.text() == "x{a=\"1\",b=\"q\\\"\\\\\\nz\"} -3\n");
}

TEST_CASE("numbers are spelled as Prometheus reads them") {
  CHECK(FormatValue(0) == "0");
  CHECK(FormatValue(1) == "1");
  CHECK(FormatValue(2.5) == "2.5");
  CHECK(FormatValue(0.0005) == "0.0005");
  CHECK(FormatValue(1e6) == "1e+06");
  CHECK(FormatValue(0.1 + 0.2) == "0.30000000000000004");  // Exact: reads back the same.
  CHECK(FormatValue(std::numeric_limits<double>::infinity()) == "+Inf");
  CHECK(FormatValue(-std::numeric_limits<double>::infinity()) == "-Inf");
  CHECK(FormatValue(std::numeric_limits<double>::quiet_NaN()) == "NaN");
}

TEST_CASE("a histogram is written as cumulative buckets with le, then _sum and _count") {
  constexpr std::array<double, 2> kBounds = {0.5, 1};
  Histogram histogram(kBounds);
  for (double v : {0.25, 0.75, 3.0}) histogram.Observe(v);
  ExpositionWriter out;
  out.Histogram("d_seconds", {{"endpoint", "publish"}}, histogram.Snapshot());
  CHECK(out.text() ==
        "d_seconds_bucket{endpoint=\"publish\",le=\"0.5\"} 1\n"
        "d_seconds_bucket{endpoint=\"publish\",le=\"1\"} 2\n"
        "d_seconds_bucket{endpoint=\"publish\",le=\"+Inf\"} 3\n"
        "d_seconds_sum{endpoint=\"publish\"} 4\n"
        "d_seconds_count{endpoint=\"publish\"} 3\n");
}

TEST_CASE("a histogram without labels has le as its only label") {
  constexpr std::array<double, 1> kBounds = {1};
  Histogram histogram(kBounds);
  ExpositionWriter out;
  out.Histogram("d", {}, histogram.Snapshot());
  CHECK(out.text() == "d_bucket{le=\"1\"} 0\nd_bucket{le=\"+Inf\"} 0\nd_sum 0\nd_count 0\n");
}

}  // namespace
}  // namespace livefeed::metrics
