// Publishing: POST /send_feed_item with a JSON object ({"data": .., "type": .., "channel": ..}),
// a JSON array of such objects (a batch: all kept with consecutive ids, or none), or an
// HTML form (fields become the item's data; "type" and "channel" are taken as such).
// Plain functions: parsing a request into what to append, and the answer to an append.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "core/store.h"
#include "transport/reply.h"

namespace livefeed {

struct PublishRequest {
  // As sent; may be empty. A view of the request's head, which outlives the parse.
  std::string_view content_type;
  std::string body;
  QueryParams params;
  std::string idempotency_key;  // Idempotency-Key header; empty when not sent.
};

// The two media types a publish may have, by its Content-Type (parameters and case aside:
// "Application/JSON; charset=utf-8" is JSON).
enum class PublishMedia { kJson, kForm, kOther };
PublishMedia PublishMediaOf(std::string_view content_type);
// What a 415 says of a publish whose Content-Type is neither (checked with the head, and
// again with the body).
std::string UnsupportedMediaMessage(std::string_view content_type);

// What a publish request asks to append, or the error reply to send instead.
struct ParsedPublish {
  bool ok = false;
  AppendRequest append;
  bool batch = false;  // The body was an array: the answer lists every item.
  Reply error;
};
ParsedPublish ParsePublish(const PublishRequest& request, std::size_t max_batch = 1000);

// The answer once the store has completed the append: {"id", "timestamp", "channel",
// "subscribers"} (or {"items": [...]} for a batch), or the error for its status.
// `subscribers(channel)` counts the subscribers on this node that follow the channel.
Reply PublishReply(const AppendResult& result, bool batch,
                   const std::function<std::size_t(const std::string&)>& subscribers);

inline constexpr std::size_t kMaxIdempotencyKeyLength = 128;

inline constexpr int kMaxJsonDepth = 64;

}  // namespace livefeed
