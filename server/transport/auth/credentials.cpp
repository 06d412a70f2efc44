#include "transport/auth/credentials.h"

#include "core/ascii.h"

namespace livefeed {
namespace {

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// "Bearer <token>" (RFC 6750, section 2.1; schemes are case-insensitive, RFC 9110 11.1).
std::string_view BearerToken(std::string_view authorization) {
  authorization = Trim(authorization);
  const std::size_t space = authorization.find_first_of(" \t");
  if (space == std::string_view::npos) return {};
  if (!EqualsIgnoreCase(authorization.substr(0, space), "bearer")) return {};
  return Trim(authorization.substr(space));
}

}  // namespace

std::optional<std::string> FindCookie(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const std::size_t end = std::min(header.find(';'), header.size());
    const std::string_view pair = Trim(header.substr(0, end));
    header.remove_prefix(std::min(end + 1, header.size()));
    const std::size_t eq = pair.find('=');
    if (eq == std::string_view::npos || Trim(pair.substr(0, eq)) != name) continue;
    std::string_view value = Trim(pair.substr(eq + 1));
    // RFC 6265 allows a value in double quotes; the quotes are no part of it.
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    return std::string(value);
  }
  return std::nullopt;
}

std::string FindToken(const Credentials& credentials, std::string_view cookie_name,
                      AuthAction action) {
  if (std::string_view bearer = BearerToken(credentials.authorization); !bearer.empty()) {
    return std::string(bearer);
  }
  if (action == AuthAction::kPublish) return {};
  if (!cookie_name.empty()) {
    std::optional<std::string> cookie = FindCookie(credentials.cookie, cookie_name);
    if (cookie && !cookie->empty()) return *cookie;
  }
  return credentials.query_token;
}

}  // namespace livefeed
