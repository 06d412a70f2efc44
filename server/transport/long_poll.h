// The long-poll transport: GET /real_time_feed holds the request until an item newer than
// the client's cursor exists, then answers {"items": [...], "cursor": N[, "truncated": true]}.
#pragma once

#include <chrono>
#include <memory>
#include <optional>

#include "core/feed.h"
#include "transport/reply.h"

namespace livefeed {

struct LongPollOptions {
  std::chrono::seconds default_timeout{25};
  int max_timeout_seconds = 25;
  std::size_t max_items = 1000;  // Items per answer; the cursor lets the client fetch the rest.
};

// The first step of a long-poll: parse the query, register `waiter` and read. Either a
// reply to send at once (bad input, items already there), or a pending wait: `waiter` is
// registered for `request` (its cursor resolved) until `deadline`, and the caller ends it
// with Feed::CheckWait / Feed::EndWait and answers with LongPollReply.
struct LongPollStart {
  std::optional<Reply> reply;
  WaitRequest request;
  Waiter::Clock::time_point deadline;
};
LongPollStart StartLongPoll(Feed& feed, const QueryParams& params, const LongPollOptions& options,
                            const std::shared_ptr<Waiter>& waiter);

// The reply for a finished wait (items, timeout, shutdown, store error).
Reply LongPollReply(const WaitResult& result);

// The 200 body for a wait result.
std::string FormatPollAnswer(const WaitResult& result);

}  // namespace livefeed
