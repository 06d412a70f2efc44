// The Redis store's own I/O thread: one epoll set, timers, and tasks posted from other
// threads. Everything the store does with Redis runs here, never on a caller's thread.
// Post and Stop are thread-safe; everything else is for the loop's own thread (callbacks
// run there).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace livefeed {

class RedisEventLoop {
 public:
  using Clock = std::chrono::steady_clock;
  using Handle = std::uint64_t;

  RedisEventLoop();
  ~RedisEventLoop();
  RedisEventLoop(const RedisEventLoop&) = delete;
  RedisEventLoop& operator=(const RedisEventLoop&) = delete;

  // Runs until Stop, on the calling thread; tasks posted before Stop all run.
  void Run();
  // Thread-safe: Run returns after the tasks posted so far.
  void Stop();
  // Thread-safe: runs `task` on the loop's thread, in posting order.
  void Post(std::function<void()> task);
  // Thread-safe: as Post, but while the loop expects a reply (ExpectReply) the task waits for
  // the turn that reply wakes, without waking the loop itself: work that would only queue
  // behind that reply costs no extra wake-up of the loop's thread.
  void PostBehindReply(std::function<void()> task);
  // Loop thread: whether a reply the loop waits for (one that will end epoll_wait) is
  // outstanding. Every PostBehindReply task runs no later than the turn after it is cleared.
  void ExpectReply(bool expected);
  // Thread-safe: how often a post or Stop has woken the loop (written its eventfd).
  std::uint64_t wakes() const { return wakes_.load(std::memory_order_relaxed); }
  // Loop thread: runs `task` at the end of this turn, after the events, timers and posted
  // tasks (and before the loop waits again), so that what they all queued goes out together.
  void AtTurnEnd(std::function<void()> task) { turn_end_.push_back(std::move(task)); }

  // Calls `on_event(epoll events)` when `fd` is ready for `events` (EPOLLIN/EPOLLOUT). A
  // handle, not the fd, identifies the watch: an event still queued for a closed fd never
  // reaches the next owner of the same number.
  Handle Watch(int fd, std::uint32_t events, std::function<void(std::uint32_t)> on_event);
  void Modify(Handle handle, std::uint32_t events);
  void Unwatch(Handle handle);

  // Runs `task` once after `delay`; Cancel before it runs stops it.
  Handle RunAfter(Clock::duration delay, std::function<void()> task);
  void Cancel(Handle timer);

 private:
  struct Watched {
    int fd;
    std::function<void(std::uint32_t)> on_event;
  };
  void Wake();  // Writes the eventfd: epoll_wait returns.
  void RunPosted();
  void RunTurnEnd();
  void RunDueTimers();
  int MillisToNextTimer() const;

  int epoll_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: Post and Stop wake epoll_wait.
  Handle next_handle_ = 1;
  std::unordered_map<Handle, Watched> watched_;
  std::map<std::pair<Clock::time_point, Handle>, std::function<void()>> timers_;
  std::unordered_map<Handle, Clock::time_point> timer_due_;
  std::vector<std::function<void()>> turn_end_;

  mutable std::mutex mu_;
  std::vector<std::function<void()>> posted_;  // Guarded by mu_.
  bool stopping_ = false;                      // Guarded by mu_.
  bool woken_ = false;  // Guarded by mu_: the eventfd is written and posted_ not yet taken.
  bool reply_expected_ = false;  // Guarded by mu_: see ExpectReply.
  std::atomic<std::uint64_t> wakes_{0};
};

}  // namespace livefeed
