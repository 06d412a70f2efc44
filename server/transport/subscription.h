// The query a subscriber sends, shared by the long-poll and the stream endpoints:
// `channel` (repeatable or comma separated), `since`, `timeout`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "transport/reply.h"

namespace livefeed {

inline constexpr std::size_t kMaxChannelsPerRequest = 16;

struct Subscription {
  std::vector<std::string> channels;   // Valid and distinct, at least one.
  std::optional<std::uint64_t> since;  // Absent: from now on.
  std::optional<int> timeout_seconds;  // Absent: the server's default.
  bool typed_events = true;            // Stream only: name events by item type.
};

struct SubscriptionLimits {
  // `timeout` may be 0 (answer at once with what there is) up to this; -1: the endpoint takes
  // no `timeout` at all (a stream).
  int max_timeout_seconds = 25;
  // Parameters the endpoint accepts besides channel/since/timeout.
  std::vector<std::string> extra_parameters;
};

// Parses and validates the query; on bad input returns the 400 reply to send instead.
struct ParsedSubscription {
  std::optional<Subscription> subscription;
  Reply error;
};
ParsedSubscription ParseSubscription(const QueryParams& params, const SubscriptionLimits& limits);

// What makes subscribers' reads (and so their answers) the same: their kind (how the
// answer is formatted), cursor and channels.
std::string SubscriberKey(char kind, std::uint64_t since, const std::vector<std::string>& channels);

// A cursor as sent by clients: decimal digits only, 0 .. 2^53-1.
std::optional<std::uint64_t> ParseCursor(const std::string& text);

}  // namespace livefeed
