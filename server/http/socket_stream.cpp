#include "http/socket_stream.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

namespace livefeed {
namespace {

// Larger writes (a big backlog answer) go out directly after what was gathered.
constexpr std::size_t kMaxGathered = 16 * 1024;

// Whether a header line of `head` starts with `name` (lower case, with its colon).
bool HasHeader(std::string_view head, std::string_view name) {
  for (std::size_t eol = head.find('\n'); eol != std::string_view::npos;
       eol = head.find('\n', eol + 1)) {
    const std::string_view line = head.substr(eol + 1, name.size());
    if (line.size() == name.size() &&
        std::equal(line.begin(), line.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == b;
        })) {
      return true;
    }
  }
  return false;
}

void AddressToString(const sockaddr_storage& addr, std::string& ip, int& port) {
  char text[INET6_ADDRSTRLEN] = "";
  if (addr.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(addr);
    inet_ntop(AF_INET, &in.sin_addr, text, sizeof text);
    port = ntohs(in.sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(addr);
    inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof text);
    port = ntohs(in6.sin6_port);
  }
  ip = text;
}

// The library asks for the peer's and our own address on every request; they never change
// on a connection, so each is looked up once (port -1: not yet).
void LookUpOnce(int fd, bool peer, std::string& ip, int& port) {
  if (port >= 0) return;
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  port = 0;
  auto* raw = reinterpret_cast<sockaddr*>(&addr);
  if ((peer ? ::getpeername(fd, raw, &len) : ::getsockname(fd, raw, &len)) == 0) {
    AddressToString(addr, ip, port);
  }
}

}  // namespace

SocketStream::SocketStream(int fd, int stop_fd, std::chrono::milliseconds read_timeout,
                           std::chrono::milliseconds write_timeout)
    : fd_(fd), stop_fd_(stop_fd), read_timeout_(read_timeout), write_timeout_(write_timeout) {}

bool SocketStream::WaitFor(short events, std::chrono::milliseconds timeout) const {
  // Reads give up at shutdown; writes go on, so held clients still get their answers.
  const bool watch_stop = stop_fd_ >= 0 && events == POLLIN;
  pollfd fds[2] = {{fd_, events, 0}, {stop_fd_, POLLIN, 0}};
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    const int n =
        ::poll(fds, watch_stop ? 2 : 1, static_cast<int>(std::max<long>(left.count(), 0)));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    if (watch_stop && (fds[1].revents & POLLIN)) return false;
    // Errors and hang-ups count as ready: the following read or write reports them.
    return fds[0].revents != 0;
  }
}

bool SocketStream::WaitReadable(std::chrono::milliseconds timeout) {
  if (has_buffered_input()) return true;
  // A response still gathered here would never reach a client that waits for it.
  if (!Flush()) return false;
  return WaitFor(POLLIN, timeout);
}

bool SocketStream::is_readable() const {
  return has_buffered_input() || WaitFor(POLLIN, read_timeout_);
}

// Called by the library before each chunk of a stream: a closed peer ends the stream
// here; a full socket is waited for by write().
bool SocketStream::is_writable() const { return discard_writes_ || !PeerClosed(); }

bool SocketStream::PeerClosed() const {
  char byte;
  const ssize_t n = ::recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

void SocketStream::BeginHead(std::chrono::steady_clock::time_point deadline,
                             std::size_t max_bytes) {
  in_head_ = true;
  head_failed_ = false;
  head_deadline_ = deadline;
  head_bytes_left_ = max_bytes;
}

void SocketStream::EndHead() { in_head_ = false; }

// Tries the socket first and blocks in poll() only when it has nothing: most reads of a
// keep-alive client find its request already there, and the library reads the request
// head a byte at a time, so the slow path must stay off the common one.
bool SocketStream::Refill() {
  for (;;) {
    const ssize_t n = ::recv(fd_, buffer_.data(), buffer_.size(), MSG_DONTWAIT);
    if (n > 0) {
      read_pos_ = 0;
      read_end_ = static_cast<std::size_t>(n);
      return true;
    }
    if (n == 0) return false;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return false;
    if (non_blocking_) return false;
    // About to wait for the client, who may be waiting for us (100 Continue).
    if (!Flush()) return false;
    std::chrono::milliseconds wait = read_timeout_;
    if (in_head_) {
      // Out of time for the head: the library answers 400 and we close.
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          head_deadline_ - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        head_failed_ = true;
        return false;
      }
      wait = std::min(wait, left);
    }
    if (!WaitFor(POLLIN, wait)) {
      if (in_head_) head_failed_ = true;
      return false;
    }
  }
}

std::string_view SocketStream::CompleteBodilessHead() {
  if (read_pos_ > 0) {
    // Compact, so that a head split across two arrivals fits the buffer whole.
    std::memmove(buffer_.data(), buffer_.data() + read_pos_, read_end_ - read_pos_);
    read_end_ -= read_pos_;
    read_pos_ = 0;
  }
  if (read_end_ < buffer_.size()) {
    const ssize_t n =
        ::recv(fd_, buffer_.data() + read_end_, buffer_.size() - read_end_, MSG_DONTWAIT);
    if (n > 0) read_end_ += static_cast<std::size_t>(n);
  }
  const std::string_view data(buffer_.data(), read_end_);
  const std::size_t end = data.find("\r\n\r\n");
  if (end == std::string_view::npos) return {};
  const std::string_view head = data.substr(0, end + 2);
  if (HasHeader(head, "content-length:") || HasHeader(head, "transfer-encoding:")) return {};
  return head;
}

ssize_t SocketStream::read(char* ptr, size_t size) {
  // The head used up its room: the library answers 400 and we close.
  if (in_head_ && head_bytes_left_ == 0) {
    head_failed_ = true;
    return -1;
  }
  if (!has_buffered_input() && !Refill()) return -1;
  std::size_t count = std::min(size, read_end_ - read_pos_);
  if (in_head_) {
    count = std::min(count, head_bytes_left_);
    head_bytes_left_ -= count;
  }
  std::memcpy(ptr, buffer_.data() + read_pos_, count);
  read_pos_ += count;
  return static_cast<ssize_t>(count);
}

ssize_t SocketStream::write(const char* ptr, size_t size) {
  if (discard_writes_) return static_cast<ssize_t>(size);
  if (non_blocking_ || pending_output_.size() + size <= kMaxGathered) {
    pending_output_.append(ptr, size);
    return static_cast<ssize_t>(size);
  }
  if (!Flush() || !SendAll(ptr, size)) return -1;
  return static_cast<ssize_t>(size);
}

bool SocketStream::Flush() {
  if (pending_output_.empty() || non_blocking_) return true;
  const bool ok = SendAll(pending_output_.data(), pending_output_.size());
  pending_output_.clear();
  if (pending_output_.capacity() > 2 * kMaxGathered) pending_output_.shrink_to_fit();
  return ok;
}

bool SocketStream::SendAll(const char* ptr, std::size_t size) {
  std::size_t sent = 0;
  while (sent < size) {
    const ssize_t n = ::send(fd_, ptr + sent, size - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    // A full socket buffer: wait for room, up to the write timeout (a client that stopped
    // reading loses its connection, nobody else waits for it).
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && WaitFor(POLLOUT, write_timeout_))
      continue;
    return false;
  }
  return true;
}

void SocketStream::get_remote_ip_and_port(std::string& ip, int& port) const {
  LookUpOnce(fd_, /*peer=*/true, remote_ip_, remote_port_);
  ip = remote_ip_;
  port = remote_port_;
}

void SocketStream::get_local_ip_and_port(std::string& ip, int& port) const {
  LookUpOnce(fd_, /*peer=*/false, local_ip_, local_port_);
  ip = local_ip_;
  port = local_port_;
}

}  // namespace livefeed
