#include "http/connection.h"

#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace livefeed {

void Connection::CloseSocket() {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

Connection::Received Connection::Receive(std::size_t max) {
  if (in_pos == in.size()) {
    in.clear();
    in_pos = 0;
  } else if (in_pos > 0 && in_pos >= in.size() / 2) {
    in.erase(0, in_pos);
    in_pos = 0;
  }
  char buffer[16 * 1024];
  const std::size_t asked = std::min(max, sizeof buffer);
  for (;;) {
    const ssize_t n = ::recv(fd, buffer, asked, 0);
    if (n > 0) {
      // A TCP read returns less than asked only when nothing more was queued.
      dry_ = static_cast<std::size_t>(n) < asked;
      in.append(buffer, static_cast<std::size_t>(n));
      return Received::kData;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      dry_ = true;
      return Received::kAgain;
    }
    return Received::kClosed;
  }
}

void Connection::Consume(std::size_t n) { in_pos += n; }

void Connection::Queue(Bytes bytes) {
  if (bytes->empty()) return;
  out_bytes += bytes->size();
  out.push_back(std::move(bytes));
}

std::string& Connection::ReplyBuffer() {
  if (!reply_buffer_ || reply_buffer_.use_count() > 1) {
    reply_buffer_ = std::make_shared<std::string>();
  }
  reply_buffer_->clear();
  return *reply_buffer_;
}

void Connection::QueueReplyBuffer() {
  // A large answer's buffer is not kept for the next: it goes with the answer.
  constexpr std::size_t kKeptCapacity = 4096;
  if (reply_buffer_->capacity() > kKeptCapacity) return Queue(Bytes(std::move(reply_buffer_)));
  Queue(Bytes(reply_buffer_));
}

Connection::Flushed Connection::Flush(Clock::time_point now) {
  while (!out.empty()) {
    constexpr std::size_t kMaxParts = 64;
    iovec parts[kMaxParts];
    std::size_t count = 0;
    for (auto it = out.begin(); it != out.end() && count < kMaxParts; ++it, ++count) {
      const std::size_t skip = count == 0 ? out_front_sent : 0;
      parts[count] = {const_cast<char*>((*it)->data()) + skip, (*it)->size() - skip};
    }
    msghdr message{};
    message.msg_iov = parts;
    message.msg_iovlen = count;
    const ssize_t n = ::sendmsg(fd, &message, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Flushed::kPartial;
    if (n <= 0) return Flushed::kFailed;
    auto sent = static_cast<std::size_t>(n);
    out_bytes -= sent;
    bytes_sent += sent;
    sent_total += sent;
    last_progress = now;
    while (sent > 0) {
      const std::size_t left = out.front()->size() - out_front_sent;
      if (sent < left) {
        out_front_sent += sent;
        break;
      }
      sent -= left;
      out.pop_front();
      out_front_sent = 0;
    }
  }
  return Flushed::kAll;
}

}  // namespace livefeed
