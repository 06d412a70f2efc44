// Every setting of the server as plain values, filled by LoadOptions (config.h) and read
// by main. Defaults live here, so --help and the code cannot disagree.
#pragma once

#include <cstddef>
#include <string>

#include "store/redis_url.h"

namespace livefeed {

struct Options {
  std::string bind = "127.0.0.1";
  int port = 8001;
  std::size_t backlog = 1000;    // Items kept per channel.
  int backlog_max_age = 0;       // Seconds; 0: no age limit.
  int poll_timeout = 25;         // Seconds a long-poll is held (also the max `timeout`).
  std::size_t max_body = 65536;  // Bytes.
  std::size_t max_connections = 10000;
  std::size_t max_items = 1000;  // Items per long-poll answer.
  int keep_alive_timeout = 75;   // Seconds an idle connection is kept.
  int sse_retry = 2000;          // Milliseconds, sent to EventSource clients.
  int ping_interval = 15;        // Seconds between SSE keep-alive comments.
  std::string web_root;          // Static files at "/"; empty: not served.
  std::string log_level = "info";
  std::string log_format = "text";  // "text" or "json" lines on stderr.
  std::string trust_proxy;          // Comma-separated peer addresses whose X-Real-IP is believed.
  std::string publish_token;        // Empty: anyone who reaches the server may publish.
  std::string publish_token_file;
  std::string subscribe_token;  // Empty: anyone may subscribe.
  std::string subscribe_token_file;
  std::string admin_token;  // Empty: anyone may read /metrics and /channels.
  std::string admin_token_file;
  std::string cors_origin;  // Comma-separated origins; "*" for subscribing only.
  // Signed channel tokens (JWT): one key, HS256 (a secret) or RS256/ES256 (a public key).
  std::string jwt_secret;  // Also filled from jwt_secret_file.
  std::string jwt_secret_file;
  std::string jwt_public_key_file;
  std::string jwt_public_key;  // The PEM text of jwt_public_key_file, read by LoadOptions.
  std::string jwt_audience;    // Empty: `aud` is not checked.
  std::string jwt_cookie;      // Cookie that may carry the token; empty: none.
  // The authorization hook: POST to the application on subscribe and publish.
  std::string auth_url;   // http://host[:port]/path; empty: no hook.
  std::string auth_host;  // The parts of auth_url, filled by LoadOptions.
  int auth_port = 80;
  std::string auth_path;
  int auth_timeout = 2;              // Seconds for the whole call; then 503.
  int auth_cache = 30;               // Seconds an answer is reused; 0: never.
  std::size_t max_channels = 10000;  // Channels holding items at once.
  int header_timeout = 10;           // Seconds for a request's line and headers to arrive.
  int body_timeout = 30;             // Seconds for a request's body, once its head is in.
  int idempotency_window = 600;      // Seconds an Idempotency-Key is remembered.
  int write_timeout = 60;            // Seconds a client may take nothing before it is dropped.
  std::size_t max_answer_bytes = std::size_t{1} << 20;    // Bytes of items per long-poll answer.
  std::size_t backlog_max_bytes = std::size_t{64} << 20;  // Bytes of items kept per channel.
  std::size_t memory_limit = 0;  // Bytes of items kept over all channels; 0: a quarter of RAM.
  std::size_t max_batch = 1000;  // Items in one batch publish.
  std::size_t event_loops = 1;   // Threads serving connections.
  std::string store = "memory";  // "memory", or a redis:// URL (several nodes, one feed).
  RedisEndpoint redis;           // The parts of a redis:// store, filled by LoadOptions.
  std::string redis_prefix = "livefeed:";  // Of every Redis key and the announcements.
  std::string config_file;
};

}  // namespace livefeed
