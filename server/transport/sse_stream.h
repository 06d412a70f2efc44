// The Server-Sent Events transport: GET /real_time_feed/stream, as functions over plain
// values (the HTTP layer's parking lot owns the connection and the waiting):
//   1. OpenSseStream parses the query and Last-Event-ID (which wins over `since`) into
//      the wait to start, or the 400 reply to send instead.
//   2. The stream's first bytes are SseOpening(): the retry interval and a comment.
//   3. Each time the feed has something after the stream's cursor, AppendSseResult turns
//      it into events: a truncation notice first when items were missed, then one event
//      per item. The cursor moves to the result's cursor.
//   4. With nothing to send for a ping interval, the stream sends kSsePing.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/feed.h"
#include "transport/reply.h"

namespace livefeed {

struct SseOptions {
  std::chrono::milliseconds ping_interval{15000};
  int retry_ms = 2000;
  std::size_t max_items = 1000;  // Items read per wake-up; the rest follow at once.
};

struct OpenedSseStream {
  std::optional<WaitRequest> request;  // The wait to begin; absent on bad input.
  bool typed = true;                   // Name events by item type (`typed=0`: never).
  Reply error;                         // The 400 to send when `request` is absent.
};
OpenedSseStream OpenSseStream(const QueryParams& params, const std::string& last_event_id,
                              const SseOptions& options);

// "retry: <ms>" and a comment line: sent first on every stream.
std::string SseOpening(const SseOptions& options);

// Appends the events for `result` (status kItems), whose wait began at cursor `since`.
void AppendSseResult(std::string& out, const WaitResult& result, std::uint64_t since, bool typed);

inline constexpr std::string_view kSsePing = ": ping\n\n";

}  // namespace livefeed
