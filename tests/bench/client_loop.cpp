#include "client_loop.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace livefeed::bench {
namespace {

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

}  // namespace

std::string GetRequest(const std::string& target) {
  return "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
}

std::string PostJsonRequest(const std::string& target, const std::string& body) {
  return "POST " + target +
         " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

ClientLoop::ClientLoop(std::uint16_t port)
    : port_(port), epoll_fd_(::epoll_create1(EPOLL_CLOEXEC)), read_buffer_(64 * 1024) {
  if (epoll_fd_ < 0)
    throw std::runtime_error(std::string("epoll_create1: ") + std::strerror(errno));
}

ClientLoop::~ClientLoop() { ::close(epoll_fd_); }

void ClientLoop::Open(Conn& conn) {
  conn.opened_at = Clock::now();
  conn.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (conn.fd < 0) return Fail(conn, std::string("socket: ") + std::strerror(errno));
  ++open_;
  int yes = 1;
  ::setsockopt(conn.fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(conn.port ? conn.port : port_);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(conn.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 &&
      errno != EINPROGRESS) {
    return Fail(conn, std::string("connect: ") + std::strerror(errno));
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
  ev.data.ptr = &conn;
  conn.want_write_ = true;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, conn.fd, &ev) != 0) {
    return Fail(conn, std::string("epoll_ctl: ") + std::strerror(errno));
  }
}

void ClientLoop::Send(Conn& conn, std::string request) {
  if (conn.fd < 0) return;
  conn.out_.erase(0, conn.out_pos_);
  conn.out_pos_ = 0;
  conn.out_ += request;
  conn.awaiting = true;
  if (conn.connected) Flush(conn);
}

void ClientLoop::Close(Conn& conn) {
  if (conn.fd < 0) return;
  linger abort{1, 0};
  ::setsockopt(conn.fd, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, conn.fd, nullptr);
  ::close(conn.fd);
  conn.fd = -1;
  --open_;
}

void ClientLoop::Fail(Conn& conn, std::string error) {
  if (!conn.failed) {
    conn.failed = true;
    conn.error = std::move(error);
  }
  conn.awaiting = false;
  Close(conn);
  if (conn.on_close) conn.on_close(conn);
}

void ClientLoop::WatchWrite(Conn& conn, bool on) {
  if (conn.want_write_ == on) return;
  conn.want_write_ = on;
  Watch(conn);
}

void ClientLoop::Watch(Conn& conn) {
  epoll_event ev{};
  ev.events = (conn.paused_ ? 0u : EPOLLIN) | EPOLLRDHUP | (conn.want_write_ ? EPOLLOUT : 0u);
  ev.data.ptr = &conn;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, conn.fd, &ev);
}

void ClientLoop::Pause(Conn& conn, Clock::time_point until) {
  conn.paused_ = true;
  conn.resume_at_ = until;
  paused_.push_back(&conn);
  Watch(conn);
}

void ClientLoop::ResumeDue(Clock::time_point now) {
  std::vector<Conn*> due;
  std::erase_if(paused_, [&](Conn* conn) {
    if (conn->fd >= 0 && conn->resume_at_ > now) return false;
    if (conn->fd >= 0) due.push_back(conn);
    return true;
  });
  for (Conn* conn : due) {
    conn->paused_ = false;
    Watch(*conn);
    Read(*conn);
  }
}

void ClientLoop::Flush(Conn& conn) {
  while (conn.out_pos_ < conn.out_.size()) {
    const ssize_t n = ::send(conn.fd, conn.out_.data() + conn.out_pos_,
                             conn.out_.size() - conn.out_pos_, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return Fail(conn, std::string("send: ") + std::strerror(errno));
    }
    conn.out_pos_ += static_cast<std::size_t>(n);
  }
  if (conn.out_pos_ == conn.out_.size()) {
    conn.out_.clear();
    conn.out_pos_ = 0;
  }
  WatchWrite(conn, !conn.out_.empty());
}

void ClientLoop::HandleEvent(Conn& conn, std::uint32_t events) {
  if (!conn.connected && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
    int error = 0;
    socklen_t len = sizeof error;
    ::getsockopt(conn.fd, SOL_SOCKET, SO_ERROR, &error, &len);
    if (error != 0) return Fail(conn, std::string("connect: ") + std::strerror(error));
    conn.connected = true;
    conn.connected_at = Clock::now();
  }
  if (events & EPOLLOUT) Flush(conn);
  if (conn.fd >= 0 && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) Read(conn);
}

void ClientLoop::Read(Conn& conn) {
  if (conn.paused_) return;
  for (;;) {
    std::size_t want = read_buffer_.size();
    if (conn.read_rate) {
      // Refill what the elapsed time earned, up to a quarter second's worth.
      const auto now = Clock::now();
      const double rate = static_cast<double>(conn.read_rate);
      if (conn.refilled_ == Clock::time_point())
        conn.tokens_ = rate / 20;
      else
        conn.tokens_ = std::min(
            rate / 4,
            conn.tokens_ + rate * std::chrono::duration<double>(now - conn.refilled_).count());
      conn.refilled_ = now;
      if (conn.tokens_ < 1) {
        return Pause(conn, now + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>((1 - conn.tokens_) / rate)));
      }
      want = std::min(want, static_cast<std::size_t>(conn.tokens_));
    }
    const ssize_t n = ::recv(conn.fd, read_buffer_.data(), want, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      return Fail(conn, std::string("recv: ") + std::strerror(errno));
    }
    if (n == 0)
      return Fail(
          conn, conn.awaiting ? "closed by the server before the answer" : "closed by the server");
    conn.in_.append(read_buffer_.data(), static_cast<std::size_t>(n));
    if (conn.read_rate) conn.tokens_ -= static_cast<double>(n);
    if (!Parse(conn)) return Fail(conn, "malformed HTTP answer");
    if (conn.fd < 0) return;
    if (static_cast<std::size_t>(n) < want) return;
  }
}

bool ClientLoop::Parse(Conn& conn) {
  std::size_t pos = 0;
  std::string& in = conn.in_;
  bool progressed = true;
  while (progressed && conn.fd >= 0) {
    progressed = false;
    if (!conn.headers_done_) {
      const std::size_t end = in.find("\r\n\r\n", pos);
      if (end == std::string::npos) break;
      std::string_view head(in.data() + pos, end - pos);
      if (head.substr(0, 9) != "HTTP/1.1 " || head.size() < 12) return false;
      conn.status_ = std::atoi(std::string(head.substr(9, 3)).c_str());
      conn.chunked_ = false;
      conn.content_length_ = 0;
      std::size_t line = head.find("\r\n");
      while (line != std::string_view::npos) {
        const std::size_t next = head.find("\r\n", line + 2);
        std::string_view header = head.substr(
            line + 2, next == std::string_view::npos ? std::string_view::npos : next - line - 2);
        const std::size_t colon = header.find(':');
        if (colon != std::string_view::npos) {
          std::string_view name = header.substr(0, colon);
          std::string_view value = header.substr(colon + 1);
          while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
          if (IEquals(name, "Content-Length"))
            conn.content_length_ = std::strtoull(std::string(value).c_str(), nullptr, 10);
          if (IEquals(name, "Transfer-Encoding") && IEquals(value, "chunked")) conn.chunked_ = true;
        }
        line = next;
      }
      pos = end + 4;
      conn.headers_done_ = true;
      conn.chunk_state_ = Conn::ChunkState::kSize;
      conn.body_.clear();
      progressed = true;
    }
    bool complete = false;
    if (conn.chunked_) {
      switch (conn.chunk_state_) {
        case Conn::ChunkState::kSize: {
          const std::size_t eol = in.find("\r\n", pos);
          if (eol == std::string::npos) break;
          conn.chunk_left_ = std::strtoull(in.substr(pos, eol - pos).c_str(), nullptr, 16);
          pos = eol + 2;
          conn.chunk_state_ =
              conn.chunk_left_ == 0 ? Conn::ChunkState::kTrailer : Conn::ChunkState::kData;
          progressed = true;
          break;
        }
        case Conn::ChunkState::kData: {
          const std::size_t take = std::min(conn.chunk_left_, in.size() - pos);
          if (take == 0) break;
          conn.body_.append(in, pos, take);
          pos += take;
          conn.chunk_left_ -= take;
          if (conn.chunk_left_ == 0) conn.chunk_state_ = Conn::ChunkState::kDataEnd;
          progressed = true;
          if (conn.on_stream) conn.on_stream(conn, conn.body_);
          break;
        }
        case Conn::ChunkState::kDataEnd:
          if (in.size() - pos < 2) break;
          if (in.compare(pos, 2, "\r\n") != 0) return false;
          pos += 2;
          conn.chunk_state_ = Conn::ChunkState::kSize;
          progressed = true;
          break;
        case Conn::ChunkState::kTrailer: {
          const std::size_t eol = in.find("\r\n", pos);
          if (eol == std::string::npos) break;
          const bool empty_line = eol == pos;
          pos = eol + 2;
          progressed = true;
          complete = empty_line;
          break;
        }
      }
    } else if (conn.headers_done_) {
      const std::size_t take = std::min(conn.content_length_ - conn.body_.size(), in.size() - pos);
      conn.body_.append(in, pos, take);
      pos += take;
      complete = conn.body_.size() == conn.content_length_;
    }
    if (complete) {
      conn.headers_done_ = false;
      conn.awaiting = false;
      Response response{conn.status_, std::move(conn.body_)};
      conn.body_.clear();
      in.erase(0, pos);
      pos = 0;
      if (conn.on_response) conn.on_response(conn, response);
      progressed = !in.empty();
    }
  }
  if (pos) in.erase(0, pos);
  return true;
}

bool ClientLoop::RunUntil(const std::function<bool()>& done, Clock::time_point deadline) {
  epoll_event events[1024];
  while (!done()) {
    const auto now = Clock::now();
    if (now >= deadline) return false;
    ResumeDue(now);
    long long wait_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() + 1;
    // Slow consumers read again in small steps: wake at least every 10 ms while any waits.
    wait_ms = std::min<long long>(wait_ms, paused_.empty() ? 100 : 10);
    const int n = ::epoll_wait(epoll_fd_, events, 1024, static_cast<int>(wait_ms));
    for (int i = 0; i < n; ++i) {
      Conn& conn = *static_cast<Conn*>(events[i].data.ptr);
      if (conn.fd >= 0) HandleEvent(conn, events[i].events);
    }
  }
  return true;
}

void ClientLoop::RunFor(Clock::duration duration) {
  RunUntil([] { return false; }, Clock::now() + duration);
}

}  // namespace livefeed::bench
