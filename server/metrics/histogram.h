// A histogram with fixed buckets, as Prometheus reads them: Observe() finds the bucket and
// bumps its atomic count and the atomic sum, with no lock and no allocation, so it can sit
// on the delivery path. Safe for concurrent use. A scrape (Snapshot) reads the counts one by
// one while others may still observe; the count it reports is the sum of the buckets it
// read, so _count always equals the +Inf bucket.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace livefeed::metrics {

// Upper bounds in seconds: from half a millisecond (a fan-out on a quiet server) to ten
// seconds (a fan-out to tens of thousands of slow clients).
inline constexpr std::array<double, 14> kLatencyBuckets = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
// Request durations also cover held long-polls (up to --poll-timeout, 25 s by default).
inline constexpr std::array<double, 16> kDurationBuckets = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

struct HistogramSnapshot {
  std::span<const double> bounds;
  std::vector<std::uint64_t> cumulative;  // One per bound, then +Inf (== count).
  double sum = 0;
  std::uint64_t count() const { return cumulative.empty() ? 0 : cumulative.back(); }
};

class Histogram {
 public:
  static constexpr std::size_t kMaxBounds = 20;
  // `bounds`: strictly increasing, at most kMaxBounds, and must outlive the histogram (the
  // bucket sets above are constants).
  explicit Histogram(std::span<const double> bounds);

  void Observe(double value);
  void Observe(std::chrono::steady_clock::duration elapsed) {
    Observe(std::chrono::duration<double>(elapsed).count());
  }

  HistogramSnapshot Snapshot() const;

 private:
  const std::span<const double> bounds_;
  // Per bucket (not cumulative, so Observe bumps one): bounds_.size() buckets, then +Inf.
  std::array<std::atomic<std::uint64_t>, kMaxBounds + 1> counts_{};
  std::atomic<double> sum_{0};
};

}  // namespace livefeed::metrics
