#include "transport/auth/credentials.h"

#include "core/ascii.h"
#include "transport/access.h"

namespace livefeed {

std::optional<std::string> FindCookie(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const std::size_t end = std::min(header.find(';'), header.size());
    const std::string_view pair = TrimOws(header.substr(0, end));
    header.remove_prefix(std::min(end + 1, header.size()));
    const std::size_t eq = pair.find('=');
    if (eq == std::string_view::npos || TrimOws(pair.substr(0, eq)) != name) continue;
    std::string_view value = TrimOws(pair.substr(eq + 1));
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
  if (std::string bearer = BearerToken(credentials.authorization); !bearer.empty()) {
    return bearer;
  }
  if (action == AuthAction::kPublish) return {};
  if (!cookie_name.empty()) {
    std::optional<std::string> cookie = FindCookie(credentials.cookie, cookie_name);
    if (cookie && !cookie->empty()) return *cookie;
  }
  return credentials.query_token;
}

}  // namespace livefeed
