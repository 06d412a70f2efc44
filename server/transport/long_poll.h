// The long-poll transport: GET /real_time_feed holds the request until an item newer than
// the client's cursor exists, then answers {"items": [...], "cursor": N[, "truncated": true]}.
#pragma once

#include <chrono>
#include <memory>

#include "core/feed.h"
#include "transport/reply.h"

namespace livefeed {

struct LongPollOptions {
  std::chrono::seconds default_timeout{25};
  int max_timeout_seconds = 25;
  std::size_t max_items = 1000;  // Items per answer; the cursor lets the client fetch the rest.
};

// Parses the query, waits on the feed (blocking this thread) and builds the answer.
// `waiter` lets the caller cancel the wait when the client disconnects.
Reply AnswerLongPoll(Feed& feed, const QueryParams& params, const LongPollOptions& options,
                     const std::shared_ptr<Waiter>& waiter);

// The 200 body for a wait result.
std::string FormatPollAnswer(const WaitResult& result);

}  // namespace livefeed
