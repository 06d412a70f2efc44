// Who may publish or subscribe (bearer tokens) and which web origins may call us (CORS).
// Plain functions over header values, so they are tested without sockets.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "transport/reply.h"

namespace livefeed {

// Checks `Authorization: Bearer <token>` (or, for subscribers whose EventSource cannot set
// headers, a `token` query value) against `expected`. Empty `expected`: open to all.
// Returns the 401 (missing) or 403 (wrong) reply to send instead, or nullopt when allowed.
std::optional<Reply> CheckToken(const std::string& expected, const std::string& authorization,
                                const std::string& query_token);

// The token of an `Authorization: Bearer <token>` value (scheme in any case), or empty.
std::string BearerToken(std::string_view authorization);

// Compares in time that depends only on the lengths, so a token cannot be guessed byte by
// byte from response times.
bool ConstantTimeEquals(const std::string& a, const std::string& b);

struct CorsPolicy {
  std::vector<std::string> origins;  // Exact origins; "*" allows any origin to subscribe only.

  bool enabled() const { return !origins.empty(); }
  // The Access-Control-Allow-Origin value for `origin`, or empty when not allowed.
  std::string AllowOrigin(const std::string& origin, bool publishing) const;
  // Whether a browser page at `origin` may publish: a request without Origin, an allowed
  // origin, or the server's own site (the origin names `host`, the request's Host). So a
  // page the user happens to visit cannot publish through the user's browser.
  bool MayPublishFrom(std::string_view origin, std::string_view host) const;
  // The headers an answer to `origin` carries: none, or the allowed origin and Vary.
  std::vector<std::pair<std::string, std::string>> ResponseHeaders(const std::string& origin,
                                                                   bool publishing) const;
};

// The answer to a CORS preflight (OPTIONS) for a feed path, as headers and status.
Reply AnswerPreflight(const CorsPolicy& policy, const std::string& origin, bool publishing);

}  // namespace livefeed
