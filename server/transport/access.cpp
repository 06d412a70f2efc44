#include "transport/access.h"

#include <algorithm>

namespace livefeed {

bool ConstantTimeEquals(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  // Every byte is compared whatever the earlier ones were; volatile keeps the compiler
  // from turning the loop into an early-exit memcmp.
  volatile unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff = diff | static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

std::optional<Reply> CheckToken(const std::string& expected, const std::string& authorization,
                                const std::string& query_token) {
  if (expected.empty()) return std::nullopt;
  static constexpr std::string_view kBearer = "Bearer ";
  std::string presented;
  if (authorization.size() > kBearer.size() &&
      authorization.compare(0, kBearer.size(), kBearer) == 0) {
    presented = authorization.substr(kBearer.size());
  } else if (!query_token.empty()) {
    presented = query_token;
  } else {
    Reply reply = JsonError(401, "a token is required: send Authorization: Bearer <token>");
    reply.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"livefeed\"");
    return reply;
  }
  if (!ConstantTimeEquals(presented, expected)) return JsonError(403, "the token is not valid");
  return std::nullopt;
}

std::string CorsPolicy::AllowOrigin(const std::string& origin, bool publishing) const {
  if (origin.empty()) return {};
  if (std::find(origins.begin(), origins.end(), origin) != origins.end()) return origin;
  // A wildcard would let any page publish with a visitor's network position: subscribe only.
  if (!publishing && std::find(origins.begin(), origins.end(), "*") != origins.end()) return "*";
  return {};
}

std::vector<std::pair<std::string, std::string>> CorsPolicy::ResponseHeaders(
    const std::string& origin, bool publishing) const {
  const std::string allowed = AllowOrigin(origin, publishing);
  if (allowed.empty()) return {};
  return {{"Access-Control-Allow-Origin", allowed}, {"Vary", "Origin"}};
}

Reply AnswerPreflight(const CorsPolicy& policy, const std::string& origin, bool publishing) {
  Reply reply;
  reply.headers = policy.ResponseHeaders(origin, publishing);
  if (reply.headers.empty()) {
    return JsonError(403, "origin '" + origin.substr(0, 100) + "' is not allowed");
  }
  reply.status = 204;
  reply.content_type.clear();
  reply.headers.insert(
      reply.headers.end(),
      {{"Access-Control-Allow-Methods", publishing ? "POST" : "GET"},
       {"Access-Control-Allow-Headers", publishing ? "Content-Type, Authorization, Idempotency-Key"
                                                   : "Authorization, Last-Event-ID"},
       {"Access-Control-Max-Age", "600"}});
  return reply;
}

}  // namespace livefeed
