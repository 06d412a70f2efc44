#include "transport/sse_stream.h"

#include "transport/sse_format.h"
#include "transport/subscription.h"

namespace livefeed {

OpenedSseStream OpenSseStream(const QueryParams& params, const std::string& last_event_id,
                              const SseOptions& options) {
  OpenedSseStream opened;
  ParsedSubscription parsed =
      ParseSubscription(params, {.max_timeout_seconds = 1, .extra_parameters = {"typed", "token"}});
  if (!parsed.subscription) {
    opened.error = parsed.error;
    return opened;
  }
  Subscription& sub = *parsed.subscription;
  if (sub.timeout_seconds) {
    opened.error = JsonError(400, "'timeout' does not apply to a stream");
    return opened;
  }
  if (!last_event_id.empty()) {
    // The browser resends the last id it saw when it reconnects: that is the cursor.
    sub.since = ParseCursor(last_event_id);
    if (!sub.since) {
      opened.error = JsonError(400, "Last-Event-ID must be a cursor (an item id)");
      return opened;
    }
  }
  WaitRequest request;
  request.channels = std::move(sub.channels);
  request.since = sub.since.value_or(0);
  request.from_now = !sub.since.has_value();
  request.limit = options.max_items;
  opened.request = std::move(request);
  opened.typed = sub.typed_events;
  return opened;
}

std::string SseOpening(const SseOptions& options) {
  std::string out;
  AppendSseRetry(out, options.retry_ms);
  AppendSseComment(out, "livefeed stream");
  return out;
}

void AppendSseResult(std::string& out, const WaitResult& result, std::uint64_t since, bool typed) {
  if (result.truncated) {
    // Told before the items, so the page can mark the gap. With no items to carry an id,
    // the notice carries the new cursor: a reconnect resumes after the gap.
    AppendSseEvent(out, result.items.empty() ? result.cursor : 0, "truncated",
                   "{\"cursor\":" + std::to_string(since) + "}");
  }
  for (const ItemPtr& item : result.items) {
    AppendSseEvent(out, item->id, typed ? item->type : std::string(), item->json);
  }
}

}  // namespace livefeed
