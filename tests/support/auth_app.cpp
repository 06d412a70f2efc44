#include "support/auth_app.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace livefeed::testing {
namespace {

bool ReadMore(int fd, std::string& data) {
  char buffer[4096];
  const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
  if (n <= 0) return false;
  data.append(buffer, static_cast<std::size_t>(n));
  return true;
}

// "POST /path HTTP/1.1\r\nName: value\r\n..." (without the blank line).
void ParseHead(const std::string& head, AppRequest& request) {
  std::size_t line_end = head.find("\r\n");
  const std::string first = head.substr(0, line_end);
  const std::size_t space = first.find(' ');
  request.method = first.substr(0, space);
  request.target = first.substr(space + 1, first.rfind(' ') - space - 1);
  while (line_end != std::string::npos) {
    const std::size_t start = line_end + 2;
    line_end = head.find("\r\n", start);
    const std::string line = head.substr(start, line_end - start);
    const std::size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    const std::size_t value = line.find_first_not_of(' ', colon + 1);
    request.headers[name] = value == std::string::npos ? "" : line.substr(value);
  }
}

// The request on `fd`, read whole (head and Content-Length body), or false.
bool ReadRequest(int fd, AppRequest& request) {
  std::string data;
  std::size_t head_end;
  while ((head_end = data.find("\r\n\r\n")) == std::string::npos) {
    if (!ReadMore(fd, data)) return false;
  }
  ParseHead(data.substr(0, head_end), request);
  const auto length_header = request.headers.find("content-length");
  const std::size_t length =
      length_header == request.headers.end() ? 0 : std::stoul(length_header->second);
  while (data.size() < head_end + 4 + length) {
    if (!ReadMore(fd, data)) return false;
  }
  request.body = data.substr(head_end + 4, length);
  return true;
}

void SendAnswer(int fd, int status, const std::string& body) {
  const std::string response =
      "HTTP/1.1 " + std::to_string(status) +
      " Test\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\nConnection: close\r\n\r\n" + body;
  ::send(fd, response.data(), response.size(), MSG_NOSIGNAL);
}

}  // namespace

AuthApp::AuthApp() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;  // A free port, read back below.
  socklen_t size = sizeof address;
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), size) != 0 ||
      ::listen(listen_fd_, 64) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
    throw std::runtime_error("AuthApp: cannot listen on loopback");
  }
  port_ = ntohs(address.sin_port);
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

AuthApp::~AuthApp() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  changed_.notify_all();
  // Wakes the blocked accept(); the acceptor then sees stopping_ and returns.
  ::shutdown(listen_fd_, SHUT_RDWR);
  acceptor_.join();
  ::close(listen_fd_);
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(mu_);
    workers.swap(workers_);
  }
  for (std::thread& worker : workers) worker.join();
}

void AuthApp::Answer(int status, std::string body) {
  std::lock_guard lock(mu_);
  mode_ = Mode::kAnswer;
  status_ = status;
  body_ = std::move(body);
}

void AuthApp::Hold() {
  std::lock_guard lock(mu_);
  mode_ = Mode::kHold;
}

void AuthApp::CloseSilently() {
  std::lock_guard lock(mu_);
  mode_ = Mode::kClose;
}

void AuthApp::Release() {
  Answer(200, "{}");
  changed_.notify_all();
}

int AuthApp::calls() const {
  std::lock_guard lock(mu_);
  return static_cast<int>(requests_.size());
}

std::vector<AppRequest> AuthApp::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

bool AuthApp::WaitForCalls(int count, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return changed_.wait_for(lock, timeout,
                           [&] { return static_cast<int>(requests_.size()) >= count; });
}

void AuthApp::AcceptLoop() {
  for (;;) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    std::lock_guard lock(mu_);
    if (stopping_) {
      if (fd >= 0) ::close(fd);
      return;
    }
    if (fd >= 0) workers_.emplace_back([this, fd] { Serve(fd); });
  }
}

void AuthApp::Serve(int fd) {
  AppRequest request;
  if (ReadRequest(fd, request)) {
    std::unique_lock lock(mu_);
    requests_.push_back(std::move(request));
    changed_.notify_all();
    changed_.wait(lock, [&] { return stopping_ || mode_ != Mode::kHold; });
    const bool answer = mode_ == Mode::kAnswer && !stopping_;
    const int status = status_;
    const std::string body = body_;
    lock.unlock();
    if (answer) SendAnswer(fd, status, body);
  }
  ::close(fd);
}

}  // namespace livefeed::testing
