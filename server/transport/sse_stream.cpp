#include "transport/sse_stream.h"

#include <algorithm>

#include "transport/long_poll.h"
#include "transport/sse_format.h"
#include "transport/subscription.h"

namespace livefeed {

SseSession::Opened SseSession::Open(const QueryParams& params, const std::string& last_event_id,
                                    const SseOptions& options) {
  ParsedSubscription parsed = ParseSubscription(
      params, {.max_timeout_seconds = -1, .extra_parameters = {"typed", "token"}});
  if (!parsed.subscription) return {std::nullopt, std::move(parsed.error)};
  Subscription& sub = *parsed.subscription;
  if (!last_event_id.empty()) {
    // The browser resends the last id it saw when it reconnects: that is the cursor.
    sub.since = ParseCursor(last_event_id);
    if (!sub.since)
      return {std::nullopt, JsonError(400, "Last-Event-ID must be a cursor (an item id)")};
  }
  SseSession session;
  session.channels_ = std::move(sub.channels);
  session.since_ = sub.since.value_or(0);
  session.from_now_ = !sub.since.has_value();
  session.typed_ = sub.typed_events;
  session.options_ = options;
  return {std::move(session), {}};
}

void SseSession::StartAt(std::uint64_t head) {
  since_ = head;
  from_now_ = false;
  // Nothing can be after "now" yet: wait for news.
  pending_ = false;
}

std::string SseSession::Opening() const {
  std::string out;
  AppendSseRetry(out, options_.retry_ms);
  AppendSseComment(out, "livefeed stream");
  return out;
}

ReadRequest SseSession::BeginRead() {
  pending_ = false;
  return {.channels = channels_,
          .since = since_,
          .max_items = options_.max_items,
          .max_bytes = options_.batch_bytes};
}

std::string SseSession::ReadKey() const {
  return SubscriberKey(typed_ ? 't' : 'u', since_, channels_);
}

std::string SseSession::Format(const ReadResult& result) const {
  std::string out;
  if (result.status != StoreStatus::kOk) return out;
  if (result.truncated) {
    // Where the stream resumes after the gap: told as the event's id too, so a reconnect
    // from here is not told of the same gap again. Same meaning as a poll's cursor.
    const std::uint64_t resume = result.items.empty() ? result.head : result.items.front()->id - 1;
    AppendSseEvent(out, resume, "truncated", "{\"cursor\":" + std::to_string(resume) + "}");
  }
  for (const ItemPtr& item : result.items) {
    AppendSseEvent(out, item->id, typed_ ? std::string_view(item->type) : std::string_view(),
                   item->json);
  }
  return out;
}

void SseSession::Advance(const ReadResult& result) {
  if (result.status != StoreStatus::kOk) {
    // Tried again at the next wake or check; the cursor stays.
    return;
  }
  since_ = CursorAfter(result, since_);
  if (result.more) pending_ = true;
}

SseSession::Check SseSession::OnTimer(Clock::time_point now, bool unsent,
                                      Clock::time_point last_progress,
                                      Clock::time_point& next) const {
  if (expires_ && now >= *expires_) {
    // Its token no longer lets it read. A client still behind gets what it was sent
    // before, then the event that says why the stream ends.
    next = now;
    return Check::kExpired;
  }
  const Check check = CheckProgress(now, unsent, last_progress, next);
  if (expires_) next = std::min(next, *expires_);
  return check;
}

SseSession::Check SseSession::CheckProgress(Clock::time_point now, bool unsent,
                                            Clock::time_point last_progress,
                                            Clock::time_point& next) const {
  if (unsent) {
    // The client is not taking what was sent: it has until the write timeout.
    const Clock::time_point give_up = last_progress + options_.write_timeout;
    if (now >= give_up) return Check::kStalled;
    next = give_up;
    return Check::kNothing;
  }
  const Clock::time_point quiet_until = last_progress + options_.ping_interval;
  if (now < quiet_until) {
    next = quiet_until;
    return Check::kNothing;
  }
  // Quiet for a ping interval: keep proxies and browsers from giving up on it.
  next = now + options_.ping_interval;
  return Check::kPing;
}

}  // namespace livefeed
