// The one writer of HTTP response heads: every response livefeed sends itself (all but
// the static files, whose heads cpp-httplib writes) gets its status line and fields here.
// A field whose name or value could break the head (CR, LF, NUL, a non-token name) is
// dropped rather than written: a response head never carries injected lines.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace livefeed {

struct ResponseHead {
  int status = 200;
  std::string_view content_type;  // Empty: none.
  const std::vector<std::pair<std::string, std::string>>* fields = nullptr;
  // "Name: value\r\n" lines of this connection's own (CORS, request id), checked by the
  // caller's source; appended as they are.
  std::string_view extra_lines;
  enum class Body { kLength, kChunked, kNone } body = Body::kLength;
  std::size_t content_length = 0;
  bool close = false;  // Connection: close; otherwise Keep-Alive with `keep_alive`.
  std::chrono::seconds keep_alive{75};
};

std::string FormatResponseHead(const ResponseHead& head);
// The same head, appended to `out` (an answer's head and body in one buffer).
void AppendResponseHead(std::string& out, const ResponseHead& head);

// The reason phrase of a status ("Not Found"); "Unknown" for codes without one.
std::string_view ReasonPhrase(int status);

}  // namespace livefeed
