// The Server-Sent Events transport: GET /real_time_feed/stream. An SseSession is one
// stream as plain state; the HTTP layer owns the socket and feeds the session events:
//   1. Open parses the query and Last-Event-ID (which wins over `since`): the stream's
//      channels and cursor. Opening() is the first thing it sends: the retry interval and a
//      comment.
//   2. Woken (news on one of its channels): the session wants a read. The HTTP layer reads
//      only when the socket has taken everything sent so far: a stream holds at most one
//      formatted batch however far behind its reader is.
//   3. A read after the cursor, bounded to a batch of `batch_bytes`, is formatted once for
//      every stream with the same key (Format) and each session moves its cursor past it
//      (Advance); a batch that did not hold everything asks for another read at once.
//      Items evicted before the cursor are announced first with `event: truncated`.
//   4. The periodic check (OnTimer): a ping comment after a quiet `ping_interval`; the
//      stream is closed only when its client has taken nothing for `write_timeout`; a
//      stream opened with a signed token ends when the token does (ExpireAt).
// Not thread-safe: owned by one event loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/store.h"
#include "transport/reply.h"

namespace livefeed {

struct SseOptions {
  std::chrono::milliseconds ping_interval{15000};
  int retry_ms = 2000;
  std::size_t max_items = 1000;                    // Items per batch.
  std::size_t batch_bytes = 64 * 1024;             // Bytes of items per batch (at least one).
  std::chrono::milliseconds write_timeout{60000};  // A stream taking nothing this long ends.
};

class SseSession {
 public:
  using Clock = std::chrono::steady_clock;

  struct Opened;
  static Opened Open(const QueryParams& params, const std::string& last_event_id,
                     const SseOptions& options);

  const std::vector<std::string>& channels() const { return channels_; }
  std::uint64_t cursor() const { return since_; }
  bool from_now() const { return from_now_; }
  // Resolves a from-now cursor to the store's head, once registered for the channels.
  void StartAt(std::uint64_t head);

  // "retry: <ms>" and a comment: the first bytes of every stream.
  std::string Opening() const;

  // The stream may last until `at` (its token's expiry), then it is told so and ends.
  void ExpireAt(Clock::time_point at) { expires_ = at; }

  void Wake() { pending_ = true; }
  bool wants_read() const { return pending_; }
  // The read to make now; the session stops wanting one until woken or Advance()d.
  ReadRequest BeginRead();
  // Streams with equal keys format equal reads identically.
  std::string ReadKey() const;
  // The events for `result`: a truncation notice, then one event per item.
  std::string Format(const ReadResult& result) const;
  // Moves past a read that was sent; a read that could not hold everything asks for more.
  void Advance(const ReadResult& result);

  enum class Check { kNothing, kPing, kStalled, kExpired };
  // At `now`, with bytes still unsent (or not) and the last time the client took any:
  // what to do, and (in `next`) when to check again (never later than the expiry).
  Check OnTimer(Clock::time_point now, bool unsent, Clock::time_point last_progress,
                Clock::time_point& next) const;

 private:
  SseSession() = default;
  // OnTimer's ping and stall checks, without the expiry.
  Check CheckProgress(Clock::time_point now, bool unsent, Clock::time_point last_progress,
                      Clock::time_point& next) const;

  std::vector<std::string> channels_;
  std::uint64_t since_ = 0;
  bool from_now_ = false;
  bool typed_ = true;
  bool pending_ = true;  // A new stream reads what is already after its cursor.
  std::optional<Clock::time_point> expires_;
  SseOptions options_;
};

struct SseSession::Opened {
  std::optional<SseSession> session;
  Reply error;
};

inline constexpr std::string_view kSsePing = ": ping\n\n";

}  // namespace livefeed
