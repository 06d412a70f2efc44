#include "metrics/metrics.h"

#include <string_view>

#include "metrics/exposition.h"
#include "metrics/process_metrics.h"

// Set by the build from the project's version (CMakeLists.txt).
#ifndef LIVEFEED_VERSION
#define LIVEFEED_VERSION "unreleased"
#endif

namespace livefeed::metrics {
namespace {

std::string CompilerName() {
#if defined(__clang__)
  return "clang " __clang_version__;
#elif defined(__GNUC__)
  return "gcc " __VERSION__;
#else
  return "unknown";
#endif
}

// One sample per value of a label enum, from `value(index)`.
template <typename Enum, typename Value>
void WriteByLabel(ExpositionWriter& out, std::string_view name, MetricType type,
                  std::string_view help, Value value) {
  out.Family(name, type, help);
  for (std::size_t i = 0; i < LabelSet<Enum>::kValues.size(); ++i) {
    out.Sample(name, {{LabelSet<Enum>::kName, LabelSet<Enum>::kValues[i]}}, value(i));
  }
}

template <typename Enum>
void WriteCounters(ExpositionWriter& out, std::string_view name, std::string_view help,
                   const ByLabel<Enum, Counter>& counters) {
  WriteByLabel<Enum>(out, name, MetricType::kCounter, help,
                     [&](std::size_t i) { return counters.at(i).value(); });
}

template <typename Enum>
void WriteHistograms(ExpositionWriter& out, std::string_view name, std::string_view help,
                     const ByLabel<Enum, Histogram>& histograms) {
  out.Family(name, MetricType::kHistogram, help);
  for (std::size_t i = 0; i < LabelSet<Enum>::kValues.size(); ++i) {
    out.Histogram(name, {{LabelSet<Enum>::kName, LabelSet<Enum>::kValues[i]}},
                  histograms.at(i).Snapshot());
  }
}

void WriteCounter(ExpositionWriter& out, std::string_view name, std::string_view help,
                  std::uint64_t value) {
  out.Family(name, MetricType::kCounter, help);
  out.Sample(name, {}, value);
}

void WriteGauge(ExpositionWriter& out, std::string_view name, std::string_view help,
                std::uint64_t value) {
  out.Family(name, MetricType::kGauge, help);
  out.Sample(name, {}, value);
}

// Only the statuses seen so far: a series per possible code would be 500 zeros.
void WriteRejections(ExpositionWriter& out, const ByStatus& rejected) {
  static constexpr std::string_view kName = "livefeed_publishes_rejected_total";
  bool started = false;
  for (std::size_t slot = 0; slot < ByStatus::kSlots; ++slot) {
    const std::uint64_t value = rejected.at(slot).value();
    if (value == 0) continue;
    if (!started) {
      out.Family(kName, MetricType::kCounter, "Publishes refused, by the status answered.");
      started = true;
    }
    const std::string status = slot == 0 ? "other" : std::to_string(slot);
    out.Sample(kName, {{"status", status}}, value);
  }
}

void WriteSources(ExpositionWriter& out, const ScrapeSources& sources) {
  if (sources.connections_open) {
    WriteGauge(out, "livefeed_connections_open", "Client connections open, held ones included.",
               sources.connections_open());
  }
  if (sources.subscribers_waiting) {
    WriteByLabel<Transport>(
        out, "livefeed_subscribers_waiting", MetricType::kGauge,
        "Long-polls held and event streams open, waiting for items.",
        [&](std::size_t i) { return sources.subscribers_waiting(static_cast<Transport>(i)); });
  }
  if (sources.store) {
    const StoreSample store = sources.store();
    WriteGauge(out, "livefeed_store_up", "1 when the store can be reached, else 0.",
               store.up ? 1 : 0);
    WriteCounter(out, "livefeed_store_errors_total", "Store operations that failed.", store.errors);
    WriteCounter(out, "livefeed_store_reconnects_total", "Connections to the store re-established.",
                 store.reconnects);
    WriteCounter(out, "livefeed_evictions_total",
                 "Items dropped from the backlog by its count, age or byte limits.",
                 store.evictions);
  }
}

}  // namespace

Registry::Registry(BuildInfo build) : build_(std::move(build)) {}

void Registry::SetSources(ScrapeSources sources) {
  std::lock_guard lock(mu_);
  sources_ = std::move(sources);
}

std::string Registry::Render() const {
  ScrapeSources sources;
  {
    // A copy, so that the callbacks (which may take their owners' locks) run without ours.
    std::lock_guard lock(mu_);
    sources = sources_;
  }
  ExpositionWriter out;
  WriteSources(out, sources);
  WriteCounters(out, "livefeed_connections_refused_total",
                "Connections turned away before a request was served, by reason.",
                connections_refused);
  WriteCounter(out, "livefeed_items_published_total", "Items published (replays not counted).",
               items_published.value());
  WriteRejections(out, publishes_rejected);
  WriteCounters(out, "livefeed_items_delivered_total", "Items written to subscribers.",
                items_delivered);
  WriteCounter(out, "livefeed_bytes_sent_total", "Response bytes written to clients.",
               bytes_sent.value());
  WriteCounters(out, "livefeed_truncated_answers_total",
                "Answers and streams that told the client items may have been missed.",
                truncated_answers);
  WriteCounter(out, "livefeed_slow_streams_dropped_total",
               "Event streams closed because their client stopped reading.",
               slow_streams_dropped.value());
  WriteHistograms(out, "livefeed_delivery_latency_seconds",
                  "From a publish to its answer or event being written, one sample per answer.",
                  delivery_latency);
  WriteHistograms(out, "livefeed_request_duration_seconds",
                  "From a request's arrival to the end of its answer, by endpoint.",
                  request_duration);
  WriteProcessMetrics(out, ReadProcessSample());
  out.Family("livefeed_build_info", MetricType::kGauge,
             "Always 1; the labels say which build is running.");
  const std::string version = build_.version.empty() ? LIVEFEED_VERSION : build_.version;
  const std::string compiler = build_.compiler.empty() ? CompilerName() : build_.compiler;
  out.Sample("livefeed_build_info", {{"version", version}, {"compiler", compiler}},
             std::uint64_t{1});
  return out.Take();
}

}  // namespace livefeed::metrics
