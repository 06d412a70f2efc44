// A Server-Sent Events client of the tests' own: opens GET on a real socket, undoes the
// chunked framing and parses events as the HTML standard says (fields, comments, blank-line
// dispatch), so tests can assert on exactly what a browser's EventSource would see.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "support/http_client.h"

namespace livefeed::testing {

struct SseEvent {
  std::string id;       // As sent in the last "id:" field of the event (empty if none).
  std::string event;    // "event:" field; empty means "message".
  std::string data;     // "data:" lines joined with "\n".
  std::string comment;  // Set instead of the rest for a ": comment" line.
  std::optional<int> retry;

  nlohmann::json Json() const { return nlohmann::json::parse(data, nullptr, false); }
};

class SseClient {
 public:
  // `extra_headers`: "Name: value\r\n" lines (a cookie, an Authorization header).
  SseClient(int port, const std::string& target, const std::string& last_event_id = "",
            int receive_buffer_bytes = 0, const std::string& extra_headers = "");

  // The response head; status 0 if none arrived.
  const HttpResponse& head() const { return head_; }

  // The next event or comment, or nullopt on timeout or end of stream.
  std::optional<SseEvent> Next(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // The next event that is not a comment.
  std::optional<SseEvent> NextEvent(std::chrono::milliseconds timeout = std::chrono::seconds(10));

  bool ended() const { return ended_; }
  void Close() { connection_.Close(); }

 private:
  bool FillText(std::chrono::steady_clock::time_point deadline);

  HttpConnection connection_;
  HttpResponse head_;
  std::string raw_;   // Chunked bytes not yet decoded.
  std::string text_;  // Decoded stream text not yet parsed.
  bool ended_ = false;
  SseEvent pending_;
};

}  // namespace livefeed::testing
