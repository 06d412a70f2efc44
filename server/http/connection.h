// One client connection as it passes between a thread (serving a request) and the parking
// lot (waiting without a thread). Exactly one of them owns it at a time.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "core/feed.h"
#include "http/socket_stream.h"

namespace livefeed {

// A request that waits in the parking lot instead of on its thread: a long-poll that found
// nothing yet, or an event stream for as long as it lasts.
struct ParkedRequest {
  enum class Kind { kPoll, kStream } kind = Kind::kPoll;
  WaitRequest request;                 // Its cursor resolved; a stream's moves on as it sends.
  std::shared_ptr<Waiter> waiter;      // Registered on the feed for `request`.
  Waiter::Clock::time_point deadline;  // Poll: when it gets the empty answer.
  bool typed = true;                   // Stream: name events by item type.
  std::string extra_headers;           // "Name: value\r\n" lines for this client (CORS).
  std::string log_prefix;              // `client "GET target"` for the access log.
  bool close_after = false;            // The client asked for Connection: close.
};

struct Connection {
  Connection(int fd, int stop_fd, std::chrono::milliseconds read_timeout,
             std::chrono::milliseconds write_timeout)
      : fd(fd), stream(fd, stop_fd, read_timeout, write_timeout) {}

  const int fd;
  SocketStream stream;
  // The response is the last one: the request body was left unread, or the client left.
  bool close_after_response = false;
  // Set by a handler whose request waits: after this request the connection goes to the lot.
  std::optional<ParkedRequest> parked;
};

}  // namespace livefeed
