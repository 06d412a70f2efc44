// Histogram: Prometheus's bucket rules (a value equal to a bound belongs to it, cumulative
// counts, _count equal to +Inf), and no lost observation under concurrent use.
#include "metrics/histogram.h"

#include <doctest/doctest.h>

#include <array>
#include <thread>
#include <vector>

namespace livefeed::metrics {
namespace {

constexpr std::array<double, 3> kBounds = {0.1, 1, 10};

TEST_CASE("a value equal to a bound is counted in that bound's bucket") {
  Histogram histogram(kBounds);
  histogram.Observe(0.1);
  histogram.Observe(1.0);
  const HistogramSnapshot snapshot = histogram.Snapshot();
  CHECK(snapshot.cumulative == std::vector<std::uint64_t>{1, 2, 2, 2});
}

TEST_CASE("buckets are cumulative, +Inf takes what exceeds every bound, and count equals +Inf") {
  Histogram histogram(kBounds);
  for (double v : {0.05, 0.5, 0.7, 5.0, 50.0, 500.0}) histogram.Observe(v);
  const HistogramSnapshot snapshot = histogram.Snapshot();
  CHECK(snapshot.cumulative == std::vector<std::uint64_t>{1, 3, 4, 6});
  CHECK(snapshot.count() == 6);
  CHECK(snapshot.sum == doctest::Approx(556.25));
  CHECK(snapshot.bounds.size() == 3);
}

TEST_CASE("durations are observed in seconds") {
  Histogram histogram(kBounds);
  histogram.Observe(std::chrono::milliseconds(250));
  const HistogramSnapshot snapshot = histogram.Snapshot();
  CHECK(snapshot.cumulative == std::vector<std::uint64_t>{0, 1, 1, 1});
  CHECK(snapshot.sum == doctest::Approx(0.25));
}

TEST_CASE("NaN is not counted and does not poison the sum") {
  Histogram histogram(kBounds);
  histogram.Observe(std::numeric_limits<double>::quiet_NaN());
  histogram.Observe(2.0);
  CHECK(histogram.Snapshot().count() == 1);
  CHECK(histogram.Snapshot().sum == doctest::Approx(2.0));
}

TEST_CASE("bounds that are not increasing are refused") {
  constexpr std::array<double, 3> kUnsorted = {1, 0.5, 2};
  constexpr std::array<double, 2> kRepeated = {1, 1};
  CHECK_THROWS_AS(Histogram{kUnsorted}, std::invalid_argument);
  CHECK_THROWS_AS(Histogram{kRepeated}, std::invalid_argument);
}

TEST_CASE("observations from several threads at once are all counted") {
  Histogram histogram(kBounds);
  constexpr int kThreads = 4, kEach = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&histogram, t] {
      for (int i = 0; i < kEach; ++i) histogram.Observe(t % 2 == 0 ? 0.5 : 5.0);
    });
  }
  for (auto& thread : threads) thread.join();
  const HistogramSnapshot snapshot = histogram.Snapshot();
  CHECK(snapshot.count() == kThreads * kEach);
  CHECK(snapshot.cumulative[1] == kThreads * kEach / 2);
  CHECK(snapshot.sum == doctest::Approx(kThreads / 2 * kEach * 5.5));
}

}  // namespace
}  // namespace livefeed::metrics
