// The HTTP front of livefeed: listens, and serves every connection on one or more event
// loops (see docs/architecture.md). The only part of the program that knows sockets,
// epoll and cpp-httplib.
// Bind, then Run on one thread; Stop and Reload may be called from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "core/feed.h"
#include "http/live_settings.h"
#include "metrics/metrics.h"

namespace livefeed {

class AuthHook;

struct HttpOptions {
  std::string bind = "127.0.0.1";
  int port = 8001;       // 0: any free port (see HttpServer::port()).
  std::string web_root;  // Static files at "/"; empty: none.
  std::chrono::seconds keep_alive_timeout{75};
  std::size_t listen_backlog = 4096;
  std::size_t event_loops = 1;
  std::size_t workers = 2;          // Threads for blocking work (large files, hooks).
  std::size_t worker_queue = 1024;  // Jobs waiting for them; beyond: 503.
  // The application's hook, asked who may follow and publish on which channel (null: no
  // hook). Besides it, signed tokens or shared tokens (in `live`); config allows one way.
  std::shared_ptr<AuthHook> auth_hook;
  LiveSettings live;  // The values at start; HttpServer::Reload replaces them.
};

class HttpServer {
 public:
  // Counts into `metrics` and gives it its scrape-time sources (connections, subscribers,
  // the store's health) until destroyed; `metrics` must outlive the server.
  HttpServer(Feed& feed, HttpOptions options, metrics::Registry& metrics);
  ~HttpServer();

  // Binds the listening socket. Returns an error message, or empty on success.
  std::string Bind();
  // The bound port (useful with port 0).
  int port() const;
  // Serves until Stop(); returns once every connection has ended.
  void Run();
  // Stops accepting, answers held polls with what they have, ends streams, closes the rest.
  void Stop();
  // Replaces the settings a running server can change: each loop takes them at its next
  // round, for the requests, polls and streams that start after. From any thread.
  void Reload(LiveSettings settings);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace livefeed
