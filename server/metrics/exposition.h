// Writes the Prometheus text exposition format, version 0.0.4: a family's # HELP and # TYPE
// lines, then its samples, one per line, with label values and help text escaped as the
// format requires. It only builds a string; it knows nothing about where the numbers come
// from. Not safe for concurrent use (one writer per scrape).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "metrics/histogram.h"

namespace livefeed::metrics {

// The Content-Type of a scrape's answer.
inline constexpr std::string_view kExpositionContentType =
    "text/plain; version=0.0.4; charset=utf-8";

enum class MetricType { kCounter, kGauge, kHistogram };

using Label = std::pair<std::string_view, std::string_view>;

class ExpositionWriter {
 public:
  // Starts a family. Its samples follow; names are [a-zA-Z_:][a-zA-Z0-9_:]* and a counter's
  // name ends in _total (the 0.0.4 convention: the TYPE line names the samples).
  void Family(std::string_view name, MetricType type, std::string_view help);

  void Sample(std::string_view name, std::initializer_list<Label> labels, double value);
  void Sample(std::string_view name, std::initializer_list<Label> labels, std::uint64_t value);
  void Sample(std::string_view name, std::initializer_list<Label> labels, std::int64_t value);

  // A histogram family's samples for one label set: name_bucket{...,le="..."} for every
  // bound and +Inf (cumulative), name_sum and name_count.
  void Histogram(std::string_view name, std::initializer_list<Label> labels,
                 const HistogramSnapshot& snapshot);

  const std::string& text() const { return text_; }
  std::string Take() { return std::move(text_); }

 private:
  // name{labels[,extra]} value\n, with `value` already formatted.
  void Line(std::string_view name, std::initializer_list<Label> labels, const Label* extra,
            std::string_view value);

  std::string text_;
};

// How the format spells a number: integers exactly, others as the shortest text that reads
// back as the same double, and +Inf, -Inf, NaN.
std::string FormatValue(double value);

}  // namespace livefeed::metrics
