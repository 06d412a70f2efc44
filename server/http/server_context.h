// What every event loop of the server shares: the options, the settings a reload
// changes, the feed, the static files, the worker pool, the metrics, the subscriber census
// and the counters /healthz reports.
// The atomics, `live` and the metrics are safe from any thread; the rest is immutable
// while serving.
#pragma once

#include <atomic>
#include <cstddef>
#include <utility>

#include "core/feed.h"
#include "http/http_server.h"
#include "http/static_files.h"
#include "http/subscriber_census.h"
#include "http/worker_pool.h"
#include "metrics/metrics.h"

namespace livefeed {

struct ServerContext {
  ServerContext(Feed& feed, HttpOptions options, metrics::Registry& metrics)
      : feed(feed),
        metrics(metrics),
        live(std::exchange(options.live, {})),
        options(std::move(options)),
        static_files(this->options.web_root,
                     static_cast<int>(this->options.keep_alive_timeout.count())),
        pool(this->options.workers, this->options.worker_queue) {}

  Feed& feed;
  metrics::Registry& metrics;
  // What a reload may change: read through a LiveSettingsView (one per loop), never from
  // `options.live`, which is left empty.
  LiveSettingsSlot live;
  const HttpOptions options;
  const StaticFiles static_files;
  WorkerPool pool;
  SubscriberCensus census;  // Its loops are added by HttpServer::Bind.

  std::atomic<std::size_t> open{0};     // Connections being served.
  std::atomic<std::size_t> refused{0};  // Turned away at the connection cap since start.
  std::atomic<std::size_t> waiting{0};  // Held polls and streams, over all loops.
  std::atomic<std::size_t> streams{0};  // The streams among them.
  std::atomic<bool> stopping{false};
};

}  // namespace livefeed
