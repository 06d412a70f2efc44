// The Server-Sent Events transport: GET /real_time_feed/stream.
//   1. Open() parses the query (and Last-Event-ID, which wins over `since`) and returns
//      the stream, or the 400 reply to send instead.
//   2. The HTTP layer calls Next() in a loop; each call blocks until there is something
//      to send (items, a truncation notice, a ping) and returns the bytes.
//   3. The first call also sends the retry interval and a comment line.
//   4. Next() returns false when the stream ends: server shutdown or the client left.
// One stream per connection; not thread-safe (its waiter may be cancelled from anywhere).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "core/feed.h"
#include "transport/reply.h"
#include "transport/subscription.h"

namespace livefeed {

struct SseOptions {
  std::chrono::milliseconds ping_interval{15000};
  int retry_ms = 2000;
  std::size_t max_items = 1000;  // Items fetched per wake-up; the rest follow at once.
};

class SseStream {
 public:
  struct Opened {
    std::unique_ptr<SseStream> stream;
    Reply error;  // When `stream` is null.
  };
  static Opened Open(Feed& feed, const QueryParams& params, const std::string& last_event_id,
                     const SseOptions& options);

  // Blocks until there is something to send; appends it to `out`. False: end the stream.
  bool Next(std::string& out);

  // Ends a pending or future Next() (the client left).
  const std::shared_ptr<Waiter>& waiter() const { return waiter_; }

  std::uint64_t cursor() const { return cursor_; }

 private:
  SseStream(Feed& feed, Subscription subscription, const SseOptions& options);

  Feed& feed_;
  const Subscription subscription_;
  const SseOptions options_;
  std::shared_ptr<Waiter> waiter_ = std::make_shared<Waiter>();
  bool opened_ = false;
  bool from_now_;
  std::uint64_t cursor_;
};

}  // namespace livefeed
