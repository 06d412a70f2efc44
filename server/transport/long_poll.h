// The long-poll transport: GET /real_time_feed is answered with every item after the
// client's cursor, at once if there are any, else when one is published or the poll's
// timeout passes: {"items": [...], "cursor": N[, "truncated": true]}.
// A LongPollSession is one held poll as plain state: the HTTP layer registers it for its
// channels, reads the store when it is woken, and asks the session what to answer.
// Not thread-safe: owned by one event loop.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/store.h"
#include "transport/reply.h"

namespace livefeed {

struct LongPollOptions {
  std::chrono::seconds default_timeout{25};
  int max_timeout_seconds = 25;
  std::size_t max_items = 1000;  // Items per answer; the cursor lets the client fetch the rest.
  std::size_t max_answer_bytes = std::size_t{1} << 20;  // Likewise, in bytes of items.
};

class LongPollSession {
 public:
  using Clock = std::chrono::steady_clock;

  // Parses the query: a session, or the 400 reply to send instead (in `error`).
  struct Opened;
  static Opened Open(const QueryParams& params, const LongPollOptions& options,
                     Clock::time_point now);

  const std::vector<std::string>& channels() const { return channels_; }
  Clock::time_point deadline() const { return deadline_; }
  // Answers no later than `at` (its token's expiry): a held poll must not outlast the
  // right to read, and the client's next poll is refused if the token has not been renewed.
  void EndBy(Clock::time_point at) { deadline_ = std::min(deadline_, at); }

  // A poll without `since` waits for what is published after it arrived: the HTTP layer
  // calls StartAt with the store's head once the poll is registered for its channels.
  bool from_now() const { return from_now_; }
  void StartAt(std::uint64_t head);

  // What to read for this poll. Polls with equal keys get equal answers from equal reads,
  // so the answer is formatted once for all of them.
  ReadRequest NextRead() const;
  std::string ReadKey(bool final) const;

  // The answer to a read: nullopt while there is nothing to say; with `final` (the
  // deadline passed, or the server is stopping) an answer in any case.
  std::optional<Reply> Answer(const ReadResult& result, bool final) const;

 private:
  LongPollSession() = default;

  std::vector<std::string> channels_;
  std::uint64_t since_ = 0;
  bool from_now_ = false;
  std::size_t max_items_ = 0;
  std::size_t max_bytes_ = 0;
  Clock::time_point deadline_;
};

struct LongPollSession::Opened {
  std::optional<LongPollSession> session;
  Reply error;
};

// The 200 body for a read that resumes at `cursor`.
std::string FormatPollAnswer(const ReadResult& result, std::uint64_t cursor);

// Where a reader stands after `result`, read from `since`: the last item's id; when
// nothing was missed and nothing came, `since` itself; after a gap with nothing retained
// beyond it, the store's head (waiting on at an unknown cursor would never end).
std::uint64_t CursorAfter(const ReadResult& result, std::uint64_t since);

}  // namespace livefeed
