// What a request presents to show who sent it, and where a signed token is found in it.
// Plain values and functions, tested without sockets; safe for concurrent use.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "transport/auth/auth_decision.h"

namespace livefeed {

// As the HTTP layer read them; each empty when absent. They key the hook's cache and are
// passed on to the application, so nothing else of the request is needed.
struct Credentials {
  std::string authorization;  // The Authorization header.
  std::string cookie;         // The Cookie header (several joined with "; ").
  std::string query_token;    // ?token=, for EventSource, which cannot set headers.
};

// The signed token a request presents, looked for in this order: an
// `Authorization: Bearer` header (the scheme in any case), the cookie `cookie_name` (when
// it is not empty), `?token=`. A publish is read from the header alone: a browser attaches
// cookies to a form another site posts to us (cross-site request forgery), and a token in
// a URL ends up in logs and histories. Empty when there is none.
std::string FindToken(const Credentials& credentials, std::string_view cookie_name,
                      AuthAction action);

// The value of the cookie `name` in a Cookie header ("a=1; b=2"), without the double
// quotes a value may carry; nullopt when the header does not set it.
std::optional<std::string> FindCookie(std::string_view header, std::string_view name);

}  // namespace livefeed
