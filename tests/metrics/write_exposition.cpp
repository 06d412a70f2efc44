// Writes an exposition the way GET /metrics will render it, with every family present and
// non-zero, to stdout: `promtool check metrics` lints it (the "metrics: promtool" test).
#include <iostream>

#include "metrics/metrics.h"

using namespace livefeed::metrics;

int main() {
  Registry registry;
  registry.SetSources({
      .connections_open = [] { return std::uint64_t{12}; },
      .subscribers_waiting = [](Transport t) { return t == Transport::kSse ? 7u : 3u; },
      .store =
          [] { return StoreSample{.up = true, .errors = 2, .reconnects = 1, .evictions = 40}; },
  });
  registry.items_published.Add(100);
  registry.publishes_rejected[400].Increment();
  registry.publishes_rejected[413].Add(2);
  registry.connections_refused[RefusalReason::kCap].Add(5);
  registry.connections_refused[RefusalReason::kHeaderTimeout].Increment();
  registry.items_delivered[Transport::kLongPoll].Add(300);
  registry.items_delivered[Transport::kSse].Add(700);
  registry.bytes_sent.Add(123456);
  registry.truncated_answers[Transport::kLongPoll].Increment();
  registry.slow_streams_dropped.Increment();
  for (double seconds : {0.0002, 0.003, 0.004, 0.2, 12.0}) {
    registry.delivery_latency[Transport::kSse].Observe(seconds);
    registry.request_duration[Endpoint::kPublish].Observe(seconds);
  }
  registry.request_duration[Endpoint::kLongPoll].Observe(25.0);
  std::cout << registry.Render();
  return 0;
}
