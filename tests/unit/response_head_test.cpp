// FormatResponseHead: the one writer of the heads livefeed sends itself.
#include "http/response_head.h"

#include <doctest/doctest.h>

namespace livefeed {
namespace {

TEST_CASE("a head has the status line, fields, length and keep-alive, then a blank line") {
  const std::vector<std::pair<std::string, std::string>> fields = {{"Cache-Control", "no-store"}};
  CHECK(FormatResponseHead({.status = 200,
                            .content_type = "application/json",
                            .fields = &fields,
                            .content_length = 12,
                            .keep_alive = std::chrono::seconds(75)}) ==
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n"
        "Content-Length: 12\r\nConnection: keep-alive\r\nKeep-Alive: timeout=75\r\n\r\n");
}

TEST_CASE("a last answer says Connection: close, a stream is chunked, a HEAD may have no length") {
  CHECK(FormatResponseHead({.status = 400, .close = true}) ==
        "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  CHECK(FormatResponseHead({.status = 200, .body = ResponseHead::Body::kChunked, .close = true})
            .find("Transfer-Encoding: chunked\r\n") != std::string::npos);
  CHECK(FormatResponseHead({.status = 200, .body = ResponseHead::Body::kNone})
            .find("Content-Length") == std::string::npos);
}

TEST_CASE("a field that could break the head is dropped, never written") {
  const std::vector<std::pair<std::string, std::string>> fields = {
      {"X-Good", "fine"},
      {"X-Bad", "a\r\nInjected: 1"},
      {"X-Nul", std::string("a\0b", 3)},
      {"Bad Name", "v"},
      {"", "v"}};
  const std::string head = FormatResponseHead({.status = 200, .fields = &fields});
  CHECK(head.find("X-Good: fine\r\n") != std::string::npos);
  CHECK(head.find("Injected") == std::string::npos);
  CHECK(head.find("X-Bad") == std::string::npos);
  CHECK(head.find("X-Nul") == std::string::npos);
  CHECK(head.find("Bad Name") == std::string::npos);
}

TEST_CASE("every status we send has its reason phrase") {
  for (int status : {200, 204, 400, 401, 403, 404, 405, 408, 411, 413,
                     414, 415, 417, 422, 431, 500, 501, 503, 505, 507}) {
    CAPTURE(status);
    CHECK(ReasonPhrase(status) != "Unknown");
  }
}

}  // namespace
}  // namespace livefeed
