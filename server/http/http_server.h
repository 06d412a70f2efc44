// The HTTP front of livefeed: routes, limits, connection handling and static files.
// The only part of the program that knows cpp-httplib (hidden behind Impl).
// Bind, then Run on one thread; Stop and Reload may be called from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "core/feed.h"
#include "transport/long_poll.h"
#include "transport/sse_stream.h"

namespace livefeed {

// What HttpServer::Reload may replace while the server runs. Each request reads the latest
// settings once, so a held client keeps what it was given (a poll its deadline) and the next
// request sees the new values.
struct ReloadableSettings {
  std::size_t max_connections = 10000;  // Open connections, held ones included.
  // Peers (reverse proxies) whose X-Real-IP / X-Forwarded-For header names the client.
  std::vector<std::string> trusted_proxies;
  std::string publish_token;    // Empty: publishing is open.
  std::string subscribe_token;  // Empty: subscribing is open.
  std::vector<std::string> cors_origins;
  std::chrono::seconds header_timeout{10};
  LongPollOptions long_poll;
  // For streams opened from now on. ping_interval and retry_ms are the parking lot's,
  // fixed at start: Reload keeps them.
  SseOptions sse;
};

struct HttpOptions {
  std::string bind = "127.0.0.1";
  int port = 8001;                   // 0: any free port (see HttpServer::port()).
  std::size_t max_body = 64 * 1024;  // Bytes of a publish body.
  std::string web_root;              // Static files at "/"; empty: none.
  std::chrono::seconds keep_alive_timeout{75};
  std::chrono::seconds read_timeout{10};
  std::chrono::seconds write_timeout{10};
  std::size_t listen_backlog = 4096;
  std::size_t thread_stack_bytes = 256 * 1024;
  std::size_t max_header_bytes = 64 * 1024;
  std::chrono::seconds idempotency_window{600};
  ReloadableSettings reloadable;  // The values at start.
};

class HttpServer {
 public:
  HttpServer(Feed& feed, HttpOptions options);
  ~HttpServer();

  // Binds the listening socket. Returns an error message, or empty on success.
  std::string Bind();
  // The bound port (useful with port 0).
  int port() const;
  // Serves until Stop(); returns once every connection has ended.
  void Run();
  // Stops accepting, wakes idle keep-alive connections and lets held requests answer.
  void Stop();
  // Replaces the reloadable settings; from any thread, held connections untouched.
  void Reload(const ReloadableSettings& settings);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace livefeed
