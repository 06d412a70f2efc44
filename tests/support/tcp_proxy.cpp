#include "support/tcp_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string_view>

namespace livefeed::testing {
namespace {

sockaddr_in Loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

bool WriteAll(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

TcpProxy::TcpProxy(int target_port) : target_port_(target_port) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr = Loopback(0);
  socklen_t length = sizeof addr;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 16) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
    throw std::runtime_error("proxy: cannot listen");
  }
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { Run(); });
}

TcpProxy::~TcpProxy() {
  stop_ = true;
  thread_.join();
  for (const Pair& pair : pairs_) {
    ::close(pair.client);
    ::close(pair.server);
  }
  ::close(listen_fd_);
}

void TcpProxy::Run() {
  while (!stop_) {
    std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}};
    std::vector<std::size_t> owners{0};
    const bool freeze = freeze_.exchange(false);
    for (std::size_t i = 0; i < pairs_.size(); ++i) {
      if (freeze && pairs_[i].subscriber) pairs_[i].frozen = true;
      if (pairs_[i].frozen) continue;
      fds.push_back({pairs_[i].client, POLLIN, 0});
      fds.push_back({pairs_[i].server, POLLIN, 0});
      owners.push_back(i);
      owners.push_back(i);
    }
    if (::poll(fds.data(), fds.size(), 20) <= 0) continue;
    std::vector<bool> closed(pairs_.size(), false);
    for (std::size_t f = 1; f < fds.size(); ++f) {
      if (!(fds[f].revents & (POLLIN | POLLHUP | POLLERR)) || closed[owners[f]]) continue;
      if (!Forward(pairs_[owners[f]], fds[f].fd == pairs_[owners[f]].client)) {
        closed[owners[f]] = true;
      }
    }
    for (std::size_t i = pairs_.size(); i-- > 0;) {
      if (!closed[i]) continue;
      ::close(pairs_[i].client);
      ::close(pairs_[i].server);
      pairs_.erase(pairs_.begin() + static_cast<std::ptrdiff_t>(i));
    }
    if (fds[0].revents & POLLIN) Accept();
  }
}

void TcpProxy::FreezeSubscribers() {
  freeze_ = true;
  // The proxy's thread takes the request at its next round (within its 20 ms poll).
  while (freeze_) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void TcpProxy::Accept() {
  const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (client < 0) return;
  const int server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr = Loopback(target_port_);
  if (::connect(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(server);
    ::close(client);
    return;
  }
  pairs_.push_back({client, server});
}

bool TcpProxy::Forward(Pair& pair, bool from_client) {
  char buffer[65536];
  const ssize_t n = ::recv(from_client ? pair.client : pair.server, buffer, sizeof buffer, 0);
  if (n <= 0) return false;
  if (from_client && std::string_view(buffer, static_cast<std::size_t>(n)).find("SUBSCRIBE") !=
                         std::string_view::npos) {
    pair.subscriber = true;
  }
  return WriteAll(from_client ? pair.server : pair.client, buffer, static_cast<std::size_t>(n));
}

}  // namespace livefeed::testing
