// The HTTP front of livefeed: routes, limits, connection handling and static files.
// The only part of the program that knows cpp-httplib (hidden behind Impl).
// Bind, then Run on one thread; Stop may be called from any thread.
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

struct HttpOptions {
  std::string bind = "127.0.0.1";
  int port = 8001;                      // 0: any free port (see HttpServer::port()).
  std::size_t max_connections = 10000;  // Open connections, held ones included.
  std::size_t max_body = 64 * 1024;     // Bytes of a publish body.
  std::string web_root;                 // Static files at "/"; empty: none.
  std::chrono::seconds keep_alive_timeout{75};
  std::chrono::seconds read_timeout{10};
  std::chrono::seconds write_timeout{10};
  std::size_t listen_backlog = 4096;
  std::size_t thread_stack_bytes = 256 * 1024;
  // Peers (reverse proxies) whose X-Real-IP / X-Forwarded-For header names the client.
  std::vector<std::string> trusted_proxies;
  std::string publish_token;    // Empty: publishing is open.
  std::string subscribe_token;  // Empty: subscribing is open.
  std::vector<std::string> cors_origins;
  std::chrono::seconds header_timeout{10};
  std::size_t max_header_bytes = 64 * 1024;
  std::chrono::seconds idempotency_window{600};
  LongPollOptions long_poll;
  SseOptions sse;
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

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace livefeed
