#include "transport/long_poll.h"

#include "transport/subscription.h"

namespace livefeed {

std::string FormatPollAnswer(const WaitResult& result) {
  std::size_t size = 64;
  for (const auto& item : result.items) size += item->json.size() + 1;
  std::string body;
  body.reserve(size);
  body += "{\"items\":[";
  for (std::size_t i = 0; i < result.items.size(); ++i) {
    if (i) body += ',';
    body += result.items[i]->json;
  }
  body += "],\"cursor\":";
  body += std::to_string(result.cursor);
  if (result.truncated) body += ",\"truncated\":true";
  body += '}';
  return body;
}

LongPollStart StartLongPoll(Feed& feed, const QueryParams& params, const LongPollOptions& options,
                            const std::shared_ptr<Waiter>& waiter) {
  LongPollStart start;
  ParsedSubscription parsed = ParseSubscription(
      params, {.max_timeout_seconds = options.max_timeout_seconds, .extra_parameters = {"token"}});
  if (!parsed.subscription) {
    start.reply = parsed.error;
    return start;
  }
  const Subscription& sub = *parsed.subscription;
  start.request.channels = sub.channels;
  start.request.since = sub.since.value_or(0);
  start.request.from_now = !sub.since.has_value();
  start.request.limit = options.max_items;
  start.deadline =
      Waiter::Clock::now() +
      (sub.timeout_seconds ? std::chrono::seconds(*sub.timeout_seconds) : options.default_timeout);

  WaitResult result = feed.BeginWait(start.request, waiter);
  start.request.since = result.cursor;
  start.request.from_now = false;
  if (result.status != WaitStatus::kPending) start.reply = LongPollReply(result);
  return start;
}

Reply LongPollReply(const WaitResult& result) {
  if (result.status == WaitStatus::kStoreError) {
    Reply reply = JsonError(503, "the feed store is unavailable, retry shortly");
    reply.headers.emplace_back("Retry-After", "1");
    return reply;
  }
  Reply reply;
  reply.body = FormatPollAnswer(result);
  // Every answer is specific to this moment: no proxy or browser may reuse it.
  reply.headers.emplace_back("Cache-Control", "no-store");
  return reply;
}

}  // namespace livefeed
