#include "transport/sse_format.h"

namespace livefeed {

void AppendSseEvent(std::string& out, std::uint64_t id, std::string_view event,
                    std::string_view data) {
  if (id != 0) {
    out += "id: ";
    out += std::to_string(id);
    out += '\n';
  }
  if (!event.empty()) {
    out += "event: ";
    out += event;
    out += '\n';
  }
  // CR, LF and CRLF all end a line in the SSE format.
  std::size_t start = 0;
  for (;;) {
    const std::size_t end = data.find_first_of("\r\n", start);
    out += "data: ";
    out += data.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    out += '\n';
    if (end == std::string_view::npos) break;
    start = end + 1;
    if (data[end] == '\r' && start < data.size() && data[start] == '\n') ++start;
  }
  out += '\n';
}

void AppendSseComment(std::string& out, std::string_view text) {
  out += ": ";
  out += text;
  out += "\n\n";
}

void AppendSseRetry(std::string& out, int milliseconds) {
  out += "retry: ";
  out += std::to_string(milliseconds);
  out += "\n\n";
}

}  // namespace livefeed
