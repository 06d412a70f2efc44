#include "support/sse_client.h"

#include <sys/socket.h>

namespace livefeed::testing {

SseClient::SseClient(int port, const std::string& target, const std::string& last_event_id,
                     int receive_buffer_bytes, const std::string& extra_headers)
    : connection_(port) {
  if (receive_buffer_bytes > 0) {
    // A small window makes a client that stops reading stall the server's writes soon.
    ::setsockopt(connection_.fd(), SOL_SOCKET, SO_RCVBUF, &receive_buffer_bytes,
                 sizeof receive_buffer_bytes);
  }
  std::string headers = "Accept: text/event-stream\r\n";
  if (!last_event_id.empty()) headers += "Last-Event-ID: " + last_event_id + "\r\n";
  headers += extra_headers;
  connection_.Send("GET", target, "", "", headers);
  head_ = connection_.ReadHead();
  if (head_.status != 200) ended_ = true;
  raw_ = connection_.TakeBuffered();
}

bool SseClient::FillText(std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    // Decode every complete chunk in raw_.
    for (;;) {
      const std::size_t eol = raw_.find("\r\n");
      if (eol == std::string::npos) break;
      const std::size_t size = std::stoul(raw_.substr(0, eol), nullptr, 16);
      if (raw_.size() < eol + 2 + size + 2) break;
      if (size == 0) {
        ended_ = true;
        return !text_.empty();
      }
      text_ += raw_.substr(eol + 2, size);
      raw_.erase(0, eol + 2 + size + 2);
      return true;
    }
    std::string more = connection_.ReadAvailable(deadline);
    if (more.empty()) {
      if (connection_.eof()) ended_ = true;
      return false;
    }
    raw_ += more;
  }
}

std::optional<SseEvent> SseClient::Next(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    std::size_t eol;
    while ((eol = text_.find('\n')) != std::string::npos) {
      std::string line = text_.substr(0, eol);
      text_.erase(0, eol + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) {
        // Blank line: dispatch (retry-only blocks dispatch nothing but are reported).
        if (!pending_.data.empty() || !pending_.event.empty() || pending_.retry ||
            !pending_.id.empty()) {
          SseEvent event = std::move(pending_);
          pending_ = {};
          if (!event.data.empty() && event.data.back() == '\n') event.data.pop_back();
          return event;
        }
        continue;
      }
      if (line[0] == ':') {
        SseEvent comment;
        comment.comment = line.substr(line.size() > 1 && line[1] == ' ' ? 2 : 1);
        return comment;
      }
      const std::size_t colon = line.find(':');
      const std::string field = line.substr(0, colon);
      std::string value = colon == std::string::npos ? "" : line.substr(colon + 1);
      if (!value.empty() && value[0] == ' ') value.erase(0, 1);
      if (field == "data") {
        pending_.data += value + "\n";
      } else if (field == "event") {
        pending_.event = value;
      } else if (field == "id") {
        pending_.id = value;
      } else if (field == "retry") {
        pending_.retry = std::stoi(value);
      }
    }
    if (ended_ || !FillText(deadline)) return std::nullopt;
  }
}

std::optional<SseEvent> SseClient::NextEvent(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    std::optional<SseEvent> event = Next(left);
    if (!event) return std::nullopt;
    if (event->comment.empty() && !event->retry) return event;
  }
}

}  // namespace livefeed::testing
