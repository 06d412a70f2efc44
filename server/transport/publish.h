// Publishing: POST /send_feed_item with a JSON object ({"data": .., "type": .., "channel": ..})
// or an HTML form (fields become the item's data; "type" and "channel" are taken as such).
#pragma once

#include <string>

#include "core/feed.h"
#include "core/idempotency.h"
#include "transport/reply.h"

namespace livefeed {

struct PublishRequest {
  std::string content_type;  // As sent; may be empty.
  std::string body;
  QueryParams params;
  std::string idempotency_key;  // Idempotency-Key header; empty when not sent.
};

// The item a publish request describes, or the error reply to send instead.
struct ParsedPublish {
  bool ok = false;
  ItemDraft draft;
  Reply error;
};
ParsedPublish ParsePublish(const PublishRequest& request);

// Parses, publishes and answers {"id": N, "timestamp": T, "channel": "..."}. With an
// idempotency key already in `keys`, answers the first publish's reply and adds nothing.
Reply HandlePublish(Feed& feed, const PublishRequest& request, IdempotencyCache* keys = nullptr);

inline constexpr std::size_t kMaxIdempotencyKeyLength = 128;

inline constexpr int kMaxJsonDepth = 64;

}  // namespace livefeed
