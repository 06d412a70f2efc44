#include "transport/access.h"

#include <algorithm>

#include "core/ascii.h"

namespace livefeed {

bool ConstantTimeEquals(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  // Every byte is compared whatever the earlier ones were; volatile keeps the compiler
  // from turning the loop into an early-exit memcmp.
  volatile unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff = diff | static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

std::string BearerToken(std::string_view authorization) {
  // "Bearer <token>" (RFC 6750, section 2.1): the scheme in any case (RFC 9110 11.1), then
  // spaces or tabs; whitespace around the value is not part of it.
  authorization = TrimOws(authorization);
  const std::size_t space = authorization.find_first_of(" \t");
  if (space == std::string_view::npos) return {};
  if (!EqualsIgnoreCase(authorization.substr(0, space), "bearer")) return {};
  return std::string(TrimOws(authorization.substr(space)));
}

std::optional<Reply> CheckToken(const std::string& expected, const std::string& authorization,
                                const std::string& query_token) {
  if (expected.empty()) return std::nullopt;
  std::string presented = BearerToken(authorization);
  if (!presented.empty()) {
    // From the header.
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
  // A page's script may read Retry-After (503: when to come back) only if it is exposed.
  return {{"Access-Control-Allow-Origin", allowed},
          {"Vary", "Origin"},
          {"Access-Control-Expose-Headers", "Retry-After"}};
}

bool CorsPolicy::MayPublishFrom(std::string_view origin, std::string_view host) const {
  // No Origin: not a browser, or a same-origin navigation that browsers leave unmarked.
  if (origin.empty()) return true;
  if (!AllowOrigin(std::string(origin), /*publishing=*/true).empty()) return true;
  // A page of the server's own site: its origin names the Host the request was sent to.
  for (std::string_view scheme : {"http://", "https://"}) {
    if (origin.substr(0, scheme.size()) != scheme) continue;
    std::string_view authority = origin.substr(scheme.size());
    std::string_view name = host;
    // The scheme's default port may be written or left out on either side.
    const std::string_view default_port = scheme == "http://" ? ":80" : ":443";
    auto strip = [&](std::string_view& s) {
      if (s.size() > default_port.size() &&
          s.substr(s.size() - default_port.size()) == default_port) {
        s.remove_suffix(default_port.size());
      }
    };
    strip(authority);
    strip(name);
    return !name.empty() && EqualsIgnoreCase(authority, name);
  }
  return false;
}

Reply AnswerPreflight(const CorsPolicy& policy, const std::string& origin, bool publishing) {
  Reply reply;
  reply.headers = policy.ResponseHeaders(origin, publishing);
  if (reply.headers.empty()) {
    return JsonError(403, "origin '" + origin.substr(0, 100) + "' is not allowed");
  }
  reply.status = 204;
  reply.content_type = {};
  reply.headers.insert(
      reply.headers.end(),
      {{"Access-Control-Allow-Methods", publishing ? "POST" : "GET"},
       {"Access-Control-Allow-Headers", publishing ? "Content-Type, Authorization, Idempotency-Key"
                                                   : "Authorization, Last-Event-ID"},
       {"Access-Control-Max-Age", "600"}});
  return reply;
}

}  // namespace livefeed
