// A small real HTTP application for the authorization hook's tests. It listens on a free
// loopback port, records each request, and answers as the test tells it: 200, 403 with a
// body, any other status, never (it holds the request until released or stopped, past
// any hook timeout), or by closing the connection without a word.
// One thread per connection; safe for concurrent use. The destructor releases held
// requests and joins every thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace livefeed::testing {

struct AppRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // Names lower-cased.
  std::string body;
};

class AuthApp {
 public:
  AuthApp();
  ~AuthApp();
  AuthApp(const AuthApp&) = delete;
  AuthApp& operator=(const AuthApp&) = delete;

  int port() const { return port_; }

  // How the next requests are answered (by default: 200 {}).
  void Answer(int status, std::string body = "{}");
  void Hold();           // Answer nothing until Release() or the destructor.
  void CloseSilently();  // Close each connection as soon as its request is read.
  void Release();        // Held requests get 200 {}, and so do later ones.

  int calls() const;  // Requests read whole so far.
  std::vector<AppRequest> requests() const;
  bool WaitForCalls(int count, std::chrono::milliseconds timeout = std::chrono::seconds(10));

 private:
  enum class Mode { kAnswer, kHold, kClose };
  void AcceptLoop();
  void Serve(int fd);

  int listen_fd_ = -1;
  int port_ = 0;
  std::thread acceptor_;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  Mode mode_ = Mode::kAnswer;         // Guarded by mu_.
  int status_ = 200;                  // Guarded by mu_.
  std::string body_ = "{}";           // Guarded by mu_.
  bool stopping_ = false;             // Guarded by mu_.
  std::vector<AppRequest> requests_;  // Guarded by mu_.
  std::vector<std::thread> workers_;  // Guarded by mu_.
};

}  // namespace livefeed::testing
