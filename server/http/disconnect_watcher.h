// Notices clients that leave while their request waits, so their waiter (and thread) is
// released at once rather than at the poll timeout.
//   1. A handler about to wait calls Watch(fd, waiter) and keeps the returned guard.
//   2. One epoll thread watches all such fds for EPOLLRDHUP/EPOLLHUP (the peer closed).
//   3. On such an event it cancels the fd's waiter, which wakes and returns.
//   4. The guard removes the fd before the handler returns: the library closes the fd
//      afterwards, and its number may be reused by the next connection.
// Safe for concurrent use.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "core/waiter.h"

namespace livefeed {

class DisconnectWatcher {
 public:
  DisconnectWatcher();
  ~DisconnectWatcher();

  DisconnectWatcher(const DisconnectWatcher&) = delete;
  DisconnectWatcher& operator=(const DisconnectWatcher&) = delete;

  class Guard {
   public:
    Guard(DisconnectWatcher* watcher, int fd) : watcher_(watcher), fd_(fd) {}
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;
    ~Guard() {
      if (watcher_) watcher_->Unwatch(fd_);
    }

   private:
    DisconnectWatcher* watcher_;
    int fd_;
  };

  // Cancels `waiter` when the peer of `fd` goes away, until the guard is destroyed.
  [[nodiscard]] std::unique_ptr<Guard> Watch(int fd, std::shared_ptr<Waiter> waiter);

 private:
  void Unwatch(int fd);
  void Run();

  struct Entry {
    std::uint32_t generation;
    std::shared_ptr<Waiter> waiter;
  };

  int epoll_fd_;
  int wake_fd_;  // Ends Run() on destruction.
  std::mutex mu_;
  std::unordered_map<int, Entry> entries_;  // Guarded by mu_.
  std::uint32_t next_generation_ = 0;       // Guarded by mu_.
  std::thread thread_;
};

}  // namespace livefeed
