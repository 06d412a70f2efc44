// A small blocking HTTP/1.1 client over a real socket, for tests that need control the
// usual clients do not give: raw bytes, held connections, closing mid-request.
#pragma once

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace livefeed::testing {

struct HttpResponse {
  int status = 0;                                   // 0: no (complete) response.
  std::multimap<std::string, std::string> headers;  // Names lower-cased.
  std::string body;

  std::string Header(const std::string& name) const;
  nlohmann::json Json() const;  // The body parsed; null if it is not JSON.
};

class HttpConnection {
 public:
  explicit HttpConnection(int port, const std::string& host = "127.0.0.1");
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  bool connected() const { return fd_ >= 0; }
  int fd() const { return fd_; }

  bool SendRaw(const std::string& bytes);
  // Sends a request; `body` with `content_type` when given.
  bool Send(const std::string& method, const std::string& target, const std::string& body = "",
            const std::string& content_type = "", const std::string& extra_headers = "");
  // Reads one response (Content-Length, chunked or until close) before the timeout.
  HttpResponse Read(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Reads whatever arrives until `timeout` or the peer closes (for streams).
  std::string ReadSome(std::chrono::milliseconds timeout);
  // True once the server has closed its side (read returns EOF) within `timeout`.
  bool WaitForClose(std::chrono::milliseconds timeout);

  void Close();

  // For streaming readers: the response head alone, then raw bytes as they arrive.
  HttpResponse ReadHead(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  std::string TakeBuffered();
  std::string ReadAvailable(std::chrono::steady_clock::time_point deadline);
  bool eof() const { return eof_; }

 private:
  bool Fill(std::chrono::steady_clock::time_point deadline);
  int fd_ = -1;
  std::string buffer_;
  bool eof_ = false;
};

// One request on a fresh connection.
HttpResponse Request(int port, const std::string& method, const std::string& target,
                     const std::string& body = "", const std::string& content_type = "",
                     std::chrono::milliseconds timeout = std::chrono::seconds(30));
// Likewise, with extra header lines ("Name: value\r\n").
HttpResponse Send(int port, const std::string& method, const std::string& target,
                  const std::string& headers, const std::string& body = "",
                  const std::string& content_type = "",
                  std::chrono::milliseconds timeout = std::chrono::seconds(30));
HttpResponse Get(int port, const std::string& target,
                 std::chrono::milliseconds timeout = std::chrono::seconds(30));
HttpResponse PostJson(int port, const std::string& body,
                      const std::string& target = "/send_feed_item");

}  // namespace livefeed::testing
