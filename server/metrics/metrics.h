// Everything livefeed counts, and its rendering for GET /metrics.
//   1. Events are counted where they happen: the code that sees one holds a reference to
//      the instrument and bumps it (`registry.items_published.Add(n)`), a relaxed atomic
//      add with no lock, allocation or lookup (counter.h, labels.h, histogram.h).
//   2. Values that already live elsewhere (open connections, waiting subscribers, the
//      store's health) are not mirrored: they are read through ScrapeSources callbacks when
//      /metrics is scraped, so they can never drift from the truth.
//   3. Render() reads both, plus the process's own figures from /proc, and writes the text
//      exposition format.
// The instruments are safe to bump from any thread; SetSources and Render may run
// concurrently with each other and with bumps.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include "metrics/counter.h"
#include "metrics/histogram.h"
#include "metrics/labels.h"

namespace livefeed::metrics {

// What the store tells an operator, read at scrape time. The counters only grow.
struct StoreSample {
  bool up = true;
  std::uint64_t errors = 0;      // Failed store operations (Redis errors).
  std::uint64_t reconnects = 0;  // Connections to the store re-established.
  std::uint64_t evictions = 0;   // Items dropped from the backlog by count, age or bytes.
};

// Callbacks Render() calls on the scraping thread; each must be quick and safe to call
// from any thread. A callback left empty leaves its families out of the exposition (a
// made-up 0 would be worse than nothing).
struct ScrapeSources {
  std::function<std::uint64_t()> connections_open = nullptr;
  std::function<std::uint64_t(Transport)> subscribers_waiting = nullptr;
  std::function<StoreSample()> store = nullptr;
};

struct BuildInfo {
  std::string version;   // Empty: the version this build was configured with.
  std::string compiler;  // Empty: the compiler that built this file.
};

class Registry {
 public:
  explicit Registry(BuildInfo build = {});
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // The instruments are public members on purpose: holding `registry.bytes_sent` is the
  // whole cost of counting. Names in the exposition are given in metrics.cpp.
  Counter items_published;
  ByStatus publishes_rejected;  // By the status of the refusal.
  ByLabel<RefusalReason, Counter> connections_refused;
  ByLabel<Transport, Counter> items_delivered;  // Items, not answers: one per item written.
  Counter bytes_sent;                           // Response bytes written to clients, all of them.
  ByLabel<Transport, Counter> truncated_answers;
  Counter slow_streams_dropped;  // Streams closed because their client stopped reading.
  // From a publish to the bytes of its answer (or event) being written: one per answer.
  ByLabel<Transport, Histogram> delivery_latency{std::span<const double>(kLatencyBuckets)};
  // From the request's first byte to the last byte of its answer.
  ByLabel<Endpoint, Histogram> request_duration{std::span<const double>(kDurationBuckets)};

  // Replaces the scrape-time sources; typically once, after the server and store exist.
  void SetSources(ScrapeSources sources);

  // The whole exposition; serve it with kExpositionContentType (exposition.h).
  std::string Render() const;

 private:
  const BuildInfo build_;
  mutable std::mutex mu_;
  ScrapeSources sources_;  // Guarded by mu_.
};

}  // namespace livefeed::metrics
