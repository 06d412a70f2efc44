// An httplib::Stream over a connected socket, owned by the connection's thread.
// Unlike the library's own stream it keeps its read buffer across the requests of a
// keep-alive connection, and every wait also watches `stop_fd`, so shutdown interrupts it.
// Not thread-safe: one connection thread uses it.
#pragma once

#include <httplib.h>

#include <array>
#include <chrono>
#include <string>
#include <string_view>

namespace livefeed {

class SocketStream final : public httplib::Stream {
 public:
  SocketStream(int fd, int stop_fd, std::chrono::milliseconds read_timeout,
               std::chrono::milliseconds write_timeout);

  bool is_readable() const override;
  bool is_writable() const override;
  ssize_t read(char* ptr, size_t size) override;
  ssize_t write(const char* ptr, size_t size) override;
  void get_remote_ip_and_port(std::string& ip, int& port) const override;
  void get_local_ip_and_port(std::string& ip, int& port) const override;
  socket_t socket() const override { return fd_; }

  // The next request already arrived with the previous one (pipelining).
  bool has_buffered_input() const { return read_pos_ < read_end_; }

  // Waits until the socket is readable, up to `timeout`. False on timeout or shutdown.
  bool WaitReadable(std::chrono::milliseconds timeout);

  // The peer has closed its side (or reset): reading would give EOF.
  bool PeerClosed() const;

  // Bounds the request head (request line and headers) that follows: it must arrive
  // whole before `deadline` and within `max_bytes`, so a client sending it a byte at a
  // time (slowloris) or without end cannot hold the connection. EndHead() lifts the bounds.
  void BeginHead(std::chrono::steady_clock::time_point deadline, std::size_t max_bytes);
  void EndHead();
  // The last head broke its bounds; the connection must be closed.
  bool head_failed() const { return head_failed_; }

  // Writes are gathered and sent by Flush() (the library writes a response's head and body
  // separately: two segments and two wake-ups of the client instead of one). Flush() is
  // also called before any wait for input.
  bool Flush();

  // For serving on a thread that must never block (the parking lot's): reads take only
  // what is buffered, writes are all gathered for TakeOutput(), whatever their size.
  void SetNonBlocking(bool on) { non_blocking_ = on; }
  std::string TakeOutput() { return std::move(pending_output_); }

  // Reads what the socket has now, without waiting; returns the buffered request head if
  // it is complete and announces no body (valid until the next read), else empty.
  std::string_view CompleteBodilessHead();

  // While set, writes are dropped: a parked long-poll's response is sent later by the
  // parking lot, not by the library when the handler returns.
  void DiscardWrites(bool discard) { discard_writes_ = discard; }

 private:
  // Sends `size` bytes, waiting for room up to the write timeout.
  bool SendAll(const char* ptr, std::size_t size);
  // Reads what the socket has into the buffer, waiting for it if need be. False on EOF,
  // error, timeout, shutdown, or a request head out of bounds.
  bool Refill();
  // POLLIN or POLLOUT on fd_ within `timeout`, unless stop_fd_ fires first.
  bool WaitFor(short events, std::chrono::milliseconds timeout) const;

  const int fd_;
  const int stop_fd_;
  const std::chrono::milliseconds read_timeout_;
  const std::chrono::milliseconds write_timeout_;
  std::array<char, 4096> buffer_;
  std::size_t read_pos_ = 0;
  std::size_t read_end_ = 0;
  bool discard_writes_ = false;
  bool non_blocking_ = false;
  std::string pending_output_;
  // Looked up on first use; port -1: not yet.
  mutable std::string remote_ip_, local_ip_;
  mutable int remote_port_ = -1, local_port_ = -1;
  bool in_head_ = false;
  bool head_failed_ = false;
  std::chrono::steady_clock::time_point head_deadline_;
  std::size_t head_bytes_left_ = 0;
};

}  // namespace livefeed
