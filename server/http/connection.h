// One client connection on an event loop: its socket, the request being read and the
// bytes being written. Plain state and non-blocking I/O; what a request means is decided by
// the loop (http_loop.h) and the routes (routes.h).
// Not thread-safe: owned by one event loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "http/request_parser.h"

namespace livefeed {

using Bytes = std::shared_ptr<const std::string>;

struct Connection {
  using Clock = std::chrono::steady_clock;

  // What the connection is doing; it reads a request only in kRequest.
  enum class Phase {
    kRequest,     // Reading (or waiting for) a request.
    kHandling,    // A request is being handled elsewhere (worker, store); its answer comes.
    kSubscribed,  // A held long-poll or an event stream: the delivery owns what it sends.
    kResponding,  // The answer is queued; once written, the next request (or the end).
    kLingering,   // Answered and half-closed: reading what the client still sends, then close.
    kClosed,      // Socket closed; the object lives on until the end of the loop's round, so
                  // that code still holding it in this round finds it closed, not freed.
  };

  Connection(int fd, std::uint64_t id, std::string peer) : fd(fd), id(id), peer(std::move(peer)) {}
  ~Connection() { CloseSocket(); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  enum class Received { kData, kAgain, kClosed };
  // Reads what the socket has (up to `max` bytes) onto the input.
  Received Receive(std::size_t max);
  // The last read left the socket empty (it returned less than it asked, or nothing): the
  // next bytes are announced by epoll, which is level-triggered, so asking again before
  // that costs a system call that finds nothing (as it would after every answer).
  bool dry() const { return dry_; }
  // Epoll announced input (or a speculative read is wanted): the next read asks the socket.
  void MayHaveInput() { dry_ = false; }
  std::string_view input() const { return std::string_view(in).substr(in_pos); }
  void Consume(std::size_t n);

  void Queue(Bytes bytes);
  void Queue(std::string bytes) { Queue(std::make_shared<const std::string>(std::move(bytes))); }
  // A buffer to write an answer into, then QueueReplyBuffer(): the one the connection's
  // last answer used, cleared, once that is sent. A connection answering request after
  // request (a publisher) allocates for none of them.
  std::string& ReplyBuffer();
  void QueueReplyBuffer();
  enum class Flushed { kAll, kPartial, kFailed };
  // Writes what is queued without blocking.
  Flushed Flush(Clock::time_point now);
  void CloseSocket();
  bool unsent() const { return !out.empty(); }
  std::size_t unsent_bytes() const { return out_bytes; }

  int fd;  // -1 once closed.
  const std::uint64_t id;
  const std::string peer;  // The peer's address.
  Phase phase = Phase::kRequest;
  RequestParser parser;
  // The answer in progress is the connection's last.
  bool close_after = false;
  // The epoll events asked for now (to skip needless epoll_ctl calls).
  std::uint32_t watching = 0;

  // The request in progress, for its answer, the access log and the metrics.
  Clock::time_point request_start;
  std::string method, target;
  std::string client;       // The peer, or whom a trusted proxy names.
  std::string request_id;   // Its X-Request-Id, kept or made.
  std::string extra_lines;  // Fields every answer to it carries (CORS, X-Request-Id).
  bool head_only = false;   // A HEAD: the answer has no body.
  bool http10 = false;
  int status = 0;
  std::size_t bytes_sent = 0;  // Of the current answer.
  std::size_t answered = 0;    // Answers given on this connection.

  bool publishing = false;  // The request in progress is a publish.
  bool subscribed = false;  // A poll or stream of the delivery's.
  bool streaming = false;   // An event stream (logged when it ends).
  bool refused = false;     // Turned away at the connection cap (not counted as open).
  std::size_t drained = 0;  // Bytes read and dropped while lingering.

  Clock::time_point last_progress;  // The client last took bytes (or the connection began).
  std::uint64_t sent_total = 0;

 private:
  std::string in;
  bool dry_ = false;
  std::size_t in_pos = 0;
  std::deque<Bytes> out;
  // Shared with `out` while queued: reused only when this is its only owner.
  std::shared_ptr<std::string> reply_buffer_;
  std::size_t out_front_sent = 0;
  std::size_t out_bytes = 0;  // Queued and not yet sent.
};

}  // namespace livefeed
