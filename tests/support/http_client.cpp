#include "support/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>

namespace livefeed::testing {

std::string HttpResponse::Header(const std::string& name) const {
  std::string lower = name;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto it = headers.find(lower);
  return it == headers.end() ? "" : it->second;
}

nlohmann::json HttpResponse::Json() const {
  return nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
}

HttpConnection::HttpConnection(int port, const std::string& host) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    fd_ = -1;
    return;
  }
  int yes = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
}

HttpConnection::~HttpConnection() { Close(); }

void HttpConnection::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool HttpConnection::SendRaw(const std::string& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

bool HttpConnection::Send(const std::string& method, const std::string& target,
                          const std::string& body, const std::string& content_type,
                          const std::string& extra_headers) {
  std::string request = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  if (!content_type.empty()) request += "Content-Type: " + content_type + "\r\n";
  if (!body.empty() || method == "POST")
    request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  request += extra_headers;
  request += "\r\n";
  request += body;
  return SendRaw(request);
}

bool HttpConnection::Fill(std::chrono::steady_clock::time_point deadline) {
  if (eof_ || fd_ < 0) return false;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) return false;
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
  char chunk[16384];
  const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
  if (n <= 0) {
    eof_ = true;
    return false;
  }
  buffer_.append(chunk, static_cast<std::size_t>(n));
  return true;
}

HttpResponse HttpConnection::ReadHead(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  HttpResponse response;
  std::size_t header_end;
  while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (!Fill(deadline)) return response;
  }
  const std::string head = buffer_.substr(0, header_end);
  buffer_.erase(0, header_end + 4);
  std::size_t line_end = head.find("\r\n");
  const std::string status_line = head.substr(0, line_end);
  if (status_line.size() < 12) return response;
  const int status = std::stoi(status_line.substr(9, 3));
  while (line_end != std::string::npos) {
    const std::size_t next = head.find("\r\n", line_end + 2);
    const std::string line = head.substr(
        line_end + 2, next == std::string::npos ? std::string::npos : next - line_end - 2);
    const std::size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      response.headers.emplace(name, value);
    }
    line_end = next;
  }
  response.status = status;
  return response;
}

std::string HttpConnection::TakeBuffered() {
  std::string out;
  out.swap(buffer_);
  return out;
}

std::string HttpConnection::ReadAvailable(std::chrono::steady_clock::time_point deadline) {
  if (buffer_.empty()) Fill(deadline);
  return TakeBuffered();
}

HttpResponse HttpConnection::Read(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  HttpResponse response = ReadHead(timeout);
  if (response.status == 0) return response;
  const int status = response.status;
  response.status = 0;
  if (!response.Header("content-length").empty()) {
    const std::size_t length = std::stoul(response.Header("content-length"));
    while (buffer_.size() < length) {
      if (!Fill(deadline)) return response;
    }
    response.body = buffer_.substr(0, length);
    buffer_.erase(0, length);
  } else if (response.Header("transfer-encoding") == "chunked") {
    for (;;) {
      std::size_t eol;
      while ((eol = buffer_.find("\r\n")) == std::string::npos) {
        if (!Fill(deadline)) return response;
      }
      const std::size_t size = std::stoul(buffer_.substr(0, eol), nullptr, 16);
      while (buffer_.size() < eol + 2 + size + 2) {
        if (!Fill(deadline)) return response;
      }
      response.body += buffer_.substr(eol + 2, size);
      buffer_.erase(0, eol + 2 + size + 2);
      if (size == 0) break;
    }
  } else {
    while (Fill(deadline)) {
    }
    response.body = buffer_;
    buffer_.clear();
  }
  response.status = status;
  return response;
}

std::string HttpConnection::ReadSome(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (Fill(deadline)) {
  }
  std::string out;
  out.swap(buffer_);
  return out;
}

bool HttpConnection::WaitForClose(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!eof_ && std::chrono::steady_clock::now() < deadline) Fill(deadline);
  return eof_;
}

HttpResponse Request(int port, const std::string& method, const std::string& target,
                     const std::string& body, const std::string& content_type,
                     std::chrono::milliseconds timeout) {
  HttpConnection connection(port);
  if (!connection.connected()) return {};
  if (!connection.Send(method, target, body, content_type)) return {};
  return connection.Read(timeout);
}

HttpResponse Send(int port, const std::string& method, const std::string& target,
                  const std::string& headers, const std::string& body,
                  const std::string& content_type, std::chrono::milliseconds timeout) {
  HttpConnection connection(port);
  if (!connection.connected()) return {};
  if (!connection.Send(method, target, body, content_type, headers)) return {};
  return connection.Read(timeout);
}

HttpResponse Get(int port, const std::string& target, std::chrono::milliseconds timeout) {
  return Request(port, "GET", target, "", "", timeout);
}

HttpResponse PostJson(int port, const std::string& body, const std::string& target) {
  return Request(port, "POST", target, body, "application/json");
}

}  // namespace livefeed::testing
