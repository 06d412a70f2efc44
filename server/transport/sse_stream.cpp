#include "transport/sse_stream.h"

#include "transport/sse_format.h"

namespace livefeed {

SseStream::Opened SseStream::Open(Feed& feed, const QueryParams& params,
                                  const std::string& last_event_id, const SseOptions& options) {
  ParsedSubscription parsed =
      ParseSubscription(params, {.max_timeout_seconds = 1, .extra_parameters = {"typed", "token"}});
  if (!parsed.subscription) return {nullptr, parsed.error};
  Subscription sub = std::move(*parsed.subscription);
  if (sub.timeout_seconds) return {nullptr, JsonError(400, "'timeout' does not apply to a stream")};
  if (!last_event_id.empty()) {
    // The browser resends the last id it saw when it reconnects: that is the cursor.
    sub.since = ParseCursor(last_event_id);
    if (!sub.since) return {nullptr, JsonError(400, "Last-Event-ID must be a cursor (an item id)")};
  }
  return {std::unique_ptr<SseStream>(new SseStream(feed, std::move(sub), options)), {}};
}

SseStream::SseStream(Feed& feed, Subscription subscription, const SseOptions& options)
    : feed_(feed),
      subscription_(std::move(subscription)),
      options_(options),
      from_now_(!subscription_.since.has_value()),
      cursor_(subscription_.since.value_or(0)) {}

bool SseStream::Next(std::string& out) {
  if (!opened_) {
    opened_ = true;
    AppendSseRetry(out, options_.retry_ms);
    AppendSseComment(out, "livefeed stream");
    return true;
  }
  WaitRequest request;
  request.channels = subscription_.channels;
  request.since = cursor_;
  request.from_now = from_now_;
  request.limit = options_.max_items;
  WaitResult result =
      feed_.WaitForItems(request, Waiter::Clock::now() + options_.ping_interval, waiter_);
  from_now_ = false;
  cursor_ = result.cursor;
  switch (result.status) {
    case WaitStatus::kItems:
      if (result.truncated) {
        // Told before the items, so the page can mark the gap. With no items to carry an
        // id, the notice carries the new cursor: a reconnect resumes after the gap.
        AppendSseEvent(out, result.items.empty() ? result.cursor : 0, "truncated",
                       "{\"cursor\":" + std::to_string(request.since) + "}");
      }
      for (const ItemPtr& item : result.items) {
        AppendSseEvent(out, item->id, subscription_.typed_events ? item->type : std::string(),
                       item->json);
      }
      return true;
    case WaitStatus::kTimeout:
    case WaitStatus::kPending:
      AppendSseComment(out, "ping");
      return true;
    case WaitStatus::kStoreError:
      // The browser reconnects with Last-Event-ID after the retry interval.
      return false;
    case WaitStatus::kShutdown:
    case WaitStatus::kCancelled:
      return false;
  }
  return false;
}

}  // namespace livefeed
