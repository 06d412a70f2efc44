// What a transport hands back to the HTTP layer: a status, headers and a body.
// Transports build replies without touching sockets, so they are tested as plain functions.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace livefeed {

// Query parameters as the HTTP layer parsed them; a name may repeat. Looked up by a
// literal name without making a string of it.
using QueryParams = std::multimap<std::string, std::string, std::less<>>;

struct Reply {
  int status = 200;
  // Always one of the program's own constants (a literal): a view, so that building an
  // answer allocates nothing for it.
  std::string_view content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// {"error": message} with `status`; the message may hold any bytes (it is sanitized).
Reply JsonError(int status, std::string_view message);

}  // namespace livefeed
