// A loopback TCP proxy for tests that need a connection to go silent without closing: it
// forwards bytes both ways until told to freeze the connections that have subscribed so far
// (their client sent SUBSCRIBE), which then stay open and forward nothing, as a subscription
// behind a failed-over or wedged server does. Later connections are forwarded normally.
#pragma once

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

namespace livefeed::testing {

class TcpProxy {
 public:
  explicit TcpProxy(int target_port);
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  int port() const { return port_; }
  // Freezes the subscribed connections open now; returns once they are frozen.
  void FreezeSubscribers();

 private:
  struct Pair {
    int client, server;
    bool subscriber = false, frozen = false;
  };
  void Run();
  void Accept();
  // Moves what `from` has to `to`; false when either end closed.
  bool Forward(Pair& pair, bool from_client);

  const int target_port_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::vector<Pair> pairs_;  // The proxy thread's own.
  std::atomic<bool> freeze_{false};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace livefeed::testing
