// One thread's epoll reactor: sockets, timers and work posted from other threads.
//   - Sockets are watched by token (the owner's id for them); readiness is reported to
//     the owner's on_ready.
//   - Each token has at most one timer. Moving a timer later costs nothing until the old
//     deadline comes (it is re-armed then), so a timer touched on every request is cheap.
//   - Post() runs a function on the loop's thread, between a round's events (every
//     kEventsBetween of them) or after them; Stop() ends Run().
// After each round of events, timers and posted work, the owner's after_round runs: the
// place to do work that is best done once per round (a publish's fan-out).
// Post and Stop are safe from any thread; everything else is for the loop's thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

namespace livefeed {

class EventLoop {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr int kEventsBetween = 8;
  static constexpr int kMaxPostedPasses = 4;
  struct Callbacks {
    std::function<void(std::uint64_t token, std::uint32_t events)> on_ready;
    std::function<void(std::uint64_t token)> on_timer;
    std::function<void()> after_round;
    // Called after every kEventsBetween events of a round (optional): a chance for the owner
    // to serve a few connections sooner than their place among the round's events.
    std::function<void()> between_events;
    // True while the owner has work queued for the next round: the loop then only polls
    // for events instead of sleeping.
    std::function<bool()> busy;
  };

  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Empty when the loop could be made, else what failed (epoll or eventfd).
  const std::string& error() const { return error_; }

  // Each returns false (with errno set) when epoll refuses.
  bool Watch(int fd, std::uint32_t events, std::uint64_t token);
  bool Rewatch(int fd, std::uint32_t events, std::uint64_t token);
  void Unwatch(int fd);

  void SetTimer(std::uint64_t token, Clock::time_point at);
  void CancelTimer(std::uint64_t token);

  void Post(std::function<void()> work);
  void Stop();

  // Runs until Stop(). `callbacks` must outlive the call.
  void Run(const Callbacks& callbacks);

  // The time at the start of this round: one clock read per round, not per event.
  Clock::time_point now() const { return now_; }

 private:
  void RunTimers(const Callbacks& callbacks);
  void RunPosted();
  void RunPostedBetween();
  int NextTimeoutMs(const Callbacks& callbacks) const;

  std::string error_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  Clock::time_point now_ = Clock::now();

  // Timers: the live deadline per token, and a heap that may hold stale entries.
  std::unordered_map<std::uint64_t, Clock::time_point> deadlines_;
  using Entry = std::pair<Clock::time_point, std::uint64_t>;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> heap_;

  std::mutex mu_;
  std::vector<std::function<void()>> posted_;  // Guarded by mu_.
  bool woken_ = false;                         // Guarded by mu_: wake_fd_ written.
  bool in_round_ = false;  // Guarded by mu_: posted work will run before the loop sleeps.
  bool stop_ = false;      // Guarded by mu_.
};

}  // namespace livefeed
