// The load generator's engine: one epoll loop driving many non-blocking HTTP/1.1 keep-alive
// client connections to a loopback port (a connection may name another one). Each connection sends
// one request at a time and parses the answer incrementally (Content-Length or chunked); a
// connection with a stream callback gets its decoded body as it arrives (SSE). Not thread-safe: one
// thread owns the loop, the connections and every callback.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace livefeed::bench {

using Clock = std::chrono::steady_clock;

struct Response {
  int status = 0;
  std::string body;
};

class ClientLoop;

// One client connection. Owned by whoever opened it (usually a phase's vector); the loop
// only refers to it, so it must outlive its registration (Close it before destroying it).
struct Conn {
  std::size_t index = 0;   // The caller's client number.
  std::uint16_t port = 0;  // Where to connect; 0: the loop's port.
  int fd = -1;
  bool connected = false;
  bool failed = false;    // Connect/read/write error, unexpected close or bad HTTP.
  bool awaiting = false;  // A request was sent and its answer is not complete.
  std::string error;
  Clock::time_point opened_at{};
  Clock::time_point connected_at{};

  // A complete answer arrived (not called for streamed bodies).
  std::function<void(Conn&, Response&)> on_response;
  // Streaming: called with the decoded body so far after each read; the callee erases what
  // it consumed. Set before the request is sent.
  std::function<void(Conn&, std::string& body)> on_stream;
  // The connection failed or the peer closed it.
  std::function<void(Conn&)> on_close;
  // Bytes per second this client reads at most (0: as fast as it can): a slow consumer.
  std::size_t read_rate = 0;

 private:
  friend class ClientLoop;
  enum class ChunkState { kSize, kData, kDataEnd, kTrailer };
  std::string out_;
  std::size_t out_pos_ = 0;
  std::string in_;
  bool headers_done_ = false;
  int status_ = 0;
  bool chunked_ = false;
  std::size_t content_length_ = 0;
  ChunkState chunk_state_ = ChunkState::kSize;
  std::size_t chunk_left_ = 0;
  std::string body_;
  bool want_write_ = false;
  // Reading at read_rate: a token bucket, and whether reading waits for it to refill.
  double tokens_ = 0;
  Clock::time_point refilled_{};
  bool paused_ = false;
  Clock::time_point resume_at_{};
};

class ClientLoop {
 public:
  explicit ClientLoop(std::uint16_t port);
  ~ClientLoop();
  ClientLoop(const ClientLoop&) = delete;
  ClientLoop& operator=(const ClientLoop&) = delete;

  // Starts a non-blocking connect. On failure the conn is marked failed (not thrown).
  void Open(Conn& conn);
  // Queues one request; it goes out as soon as the connection is established.
  void Send(Conn& conn, std::string request);
  // Closes with a RST (SO_LINGER 0): no TIME_WAIT left behind to exhaust loopback ports.
  void Close(Conn& conn);

  // Processes events until `done()` is true or the deadline passes; returns done().
  bool RunUntil(const std::function<bool()>& done, Clock::time_point deadline);
  void RunFor(Clock::duration duration);

  std::size_t open_count() const { return open_; }

 private:
  void HandleEvent(Conn& conn, std::uint32_t events);
  void Flush(Conn& conn);
  void Read(Conn& conn);
  // Consumes conn.in_; returns false on malformed HTTP.
  bool Parse(Conn& conn);
  void Fail(Conn& conn, std::string error);
  void WatchWrite(Conn& conn, bool on);
  void Watch(Conn& conn);
  // A slow consumer that used up its bytes stops reading until they refill.
  void Pause(Conn& conn, Clock::time_point until);
  void ResumeDue(Clock::time_point now);

  std::uint16_t port_;
  int epoll_fd_;
  std::size_t open_ = 0;
  std::vector<char> read_buffer_;
  std::vector<Conn*> paused_;
};

// Requests as the bench sends them.
std::string GetRequest(const std::string& target);
std::string PostJsonRequest(const std::string& target, const std::string& body);

}  // namespace livefeed::bench
