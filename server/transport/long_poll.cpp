#include "transport/long_poll.h"

#include "transport/subscription.h"

namespace livefeed {

LongPollSession::Opened LongPollSession::Open(const QueryParams& params,
                                              const LongPollOptions& options,
                                              Clock::time_point now) {
  ParsedSubscription parsed = ParseSubscription(
      params, {.max_timeout_seconds = options.max_timeout_seconds, .extra_parameters = {"token"}});
  if (!parsed.subscription) return {std::nullopt, std::move(parsed.error)};
  Subscription& sub = *parsed.subscription;
  LongPollSession session;
  session.channels_ = std::move(sub.channels);
  session.since_ = sub.since.value_or(0);
  session.from_now_ = !sub.since.has_value();
  session.max_items_ = options.max_items;
  session.max_bytes_ = options.max_answer_bytes;
  session.deadline_ = now + (sub.timeout_seconds ? std::chrono::seconds(*sub.timeout_seconds)
                                                 : options.default_timeout);
  return {std::move(session), {}};
}

void LongPollSession::StartAt(std::uint64_t head) {
  since_ = head;
  from_now_ = false;
}

ReadRequest LongPollSession::NextRead() const {
  return {.channels = channels_, .since = since_, .max_items = max_items_, .max_bytes = max_bytes_};
}

std::string LongPollSession::ReadKey(bool final) const {
  return SubscriberKey(final ? 'P' : 'p', since_, channels_);
}

std::uint64_t CursorAfter(const ReadResult& result, std::uint64_t since) {
  if (!result.items.empty()) return result.items.back()->id;
  return result.truncated ? result.head : since;
}

std::string FormatPollAnswer(const ReadResult& result, std::uint64_t cursor) {
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
  body += std::to_string(cursor);
  if (result.truncated) body += ",\"truncated\":true";
  body += '}';
  return body;
}

std::optional<Reply> LongPollSession::Answer(const ReadResult& result, bool final) const {
  if (result.status != StoreStatus::kOk) {
    Reply reply = JsonError(503, "the feed store is unavailable, retry shortly");
    reply.headers.emplace_back("Retry-After", "1");
    return reply;
  }
  if (result.items.empty() && !result.truncated && !final) return std::nullopt;
  Reply reply;
  reply.body = FormatPollAnswer(result, CursorAfter(result, since_));
  // Every answer is specific to this moment: no proxy or browser may reuse it.
  reply.headers.emplace_back("Cache-Control", "no-store");
  return reply;
}

}  // namespace livefeed
