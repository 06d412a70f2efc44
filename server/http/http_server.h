// The HTTP front of livefeed: listens, and serves every connection on one or more event
// loops (see docs/architecture.md). The only part of the program that knows sockets,
// epoll and cpp-httplib.
// Bind, then Run on one thread; Stop may be called from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "core/feed.h"
#include "metrics/metrics.h"
#include "transport/long_poll.h"
#include "transport/sse_stream.h"

namespace livefeed {

class AuthHook;
class JwtVerifier;

struct HttpOptions {
  std::string bind = "127.0.0.1";
  int port = 8001;                      // 0: any free port (see HttpServer::port()).
  std::size_t max_connections = 10000;  // Open connections, held ones included.
  std::size_t max_body = 64 * 1024;     // Bytes of a publish body, however it is framed.
  std::size_t max_batch = 1000;         // Items in one batch publish.
  std::string web_root;                 // Static files at "/"; empty: none.
  std::chrono::seconds keep_alive_timeout{75};
  std::chrono::seconds header_timeout{10};  // For a request's line and headers.
  std::chrono::seconds body_timeout{30};    // For its body, once the head is in.
  std::chrono::seconds write_timeout{60};   // A client that takes nothing this long is dropped.
  std::size_t listen_backlog = 4096;
  std::size_t event_loops = 1;
  std::size_t workers = 2;          // Threads for blocking work (large files, hooks).
  std::size_t worker_queue = 1024;  // Jobs waiting for them; beyond: 503.
  // Peers (reverse proxies) whose X-Real-IP / X-Forwarded-For header names the client.
  std::vector<std::string> trusted_proxies;
  std::string publish_token;    // Empty: publishing is open.
  std::string subscribe_token;  // Empty: subscribing is open.
  // Who may follow and publish on which channel, besides the shared tokens above: signed
  // channel tokens, or the application's hook (at most one of the three ways is set).
  std::shared_ptr<const JwtVerifier> jwt;  // Null: no signed tokens.
  std::string jwt_cookie;                  // The cookie that may carry a token; empty: none.
  std::shared_ptr<AuthHook> auth_hook;     // Null: no hook.
  std::string admin_token;                 // Empty: /metrics and /channels are open.
  std::vector<std::string> cors_origins;
  LongPollOptions long_poll;
  SseOptions sse;
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

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace livefeed
