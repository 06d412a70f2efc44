// What the process costs, read from /proc at scrape time under the names Prometheus's Go
// and Node clients export by default (process_cpu_seconds_total, ...), so that existing
// dashboards and alerts work unchanged. Linux only; a value that cannot be read is left
// out rather than reported as 0. Safe for concurrent use (it keeps no state).
#pragma once

#include <cstdint>
#include <optional>

#include "metrics/exposition.h"

namespace livefeed::metrics {

struct ProcessSample {
  std::optional<double> cpu_seconds;  // User + system time.
  std::optional<std::uint64_t> resident_bytes;
  std::optional<std::uint64_t> virtual_bytes;
  std::optional<std::uint64_t> open_fds;
  std::optional<std::uint64_t> max_fds;      // The soft RLIMIT_NOFILE.
  std::optional<double> start_time_seconds;  // Since the Unix epoch.
  std::optional<std::uint64_t> threads;
};

ProcessSample ReadProcessSample();

// Writes the process_* families for the values `sample` has.
void WriteProcessMetrics(ExpositionWriter& writer, const ProcessSample& sample);

}  // namespace livefeed::metrics
