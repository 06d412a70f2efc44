#include "http/event_loop.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace livefeed {
namespace {

// The token of the loop's own eventfd; owners' tokens start above it.
constexpr std::uint64_t kWakeToken = ~std::uint64_t{0};

}  // namespace

EventLoop::EventLoop() {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (epoll_fd_ < 0 || wake_fd_ < 0) {
    error_ = std::string("cannot create the event loop: ") + std::strerror(errno);
    return;
  }
  if (!Watch(wake_fd_, EPOLLIN, kWakeToken)) {
    error_ = std::string("cannot watch the event loop's eventfd: ") + std::strerror(errno);
  }
}

EventLoop::~EventLoop() {
  if (wake_fd_ >= 0) ::close(wake_fd_);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

bool EventLoop::Watch(int fd, std::uint32_t events, std::uint64_t token) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = token;
  return ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) == 0;
}

bool EventLoop::Rewatch(int fd, std::uint32_t events, std::uint64_t token) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = token;
  return ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev) == 0;
}

void EventLoop::Unwatch(int fd) {
  // Fails only for an fd that is not watched, which is what the caller wants anyway.
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
}

void EventLoop::SetTimer(std::uint64_t token, Clock::time_point at) {
  auto [it, fresh] = deadlines_.try_emplace(token, at);
  // A later deadline only updates the map; the earlier heap entry re-arms it when it comes.
  if (!fresh && at >= it->second) {
    it->second = at;
    return;
  }
  it->second = at;
  heap_.emplace(at, token);
}

void EventLoop::CancelTimer(std::uint64_t token) { deadlines_.erase(token); }

void EventLoop::Post(std::function<void()> work) {
  std::lock_guard lock(mu_);
  posted_.push_back(std::move(work));
  // One eventfd write per round, however many posts pile up while the loop is busy; none
  // while the loop is in a round, which runs what is posted before it ends (RunPosted).
  if (woken_ || in_round_) return;
  woken_ = true;
  const std::uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

void EventLoop::Stop() {
  Post([this] {
    std::lock_guard lock(mu_);
    stop_ = true;
  });
}

int EventLoop::NextTimeoutMs(const Callbacks& callbacks) const {
  if (callbacks.busy && callbacks.busy()) return 0;
  if (heap_.empty()) return -1;
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(heap_.top().first - Clock::now());
  return static_cast<int>(std::max<long>(left.count(), 0));
}

void EventLoop::RunTimers(const Callbacks& callbacks) {
  while (!heap_.empty() && heap_.top().first <= now_) {
    const auto [at, token] = heap_.top();
    heap_.pop();
    auto it = deadlines_.find(token);
    if (it == deadlines_.end()) continue;  // Cancelled.
    if (it->second > at) {
      heap_.emplace(it->second, token);  // Moved later since: re-armed.
      continue;
    }
    if (it->second != at) continue;  // A stale entry of an earlier setting.
    deadlines_.erase(it);
    callbacks.on_timer(token);
  }
}

void EventLoop::RunPosted() {
  // Work posted by posted work (an answer after a census of subscribers, both on this loop)
  // runs in the same round, without a wake-up; after kMaxPostedPasses passes, what is left
  // waits for the next round, after its sockets.
  std::vector<std::function<void()>> posted;
  for (int pass = 0;; ++pass) {
    {
      std::lock_guard lock(mu_);
      posted.swap(posted_);
      if (posted.empty() || pass == kMaxPostedPasses) {
        posted_.swap(posted);  // What is left (passes ran out) goes back, with a wake-up.
        in_round_ = false;
        woken_ = !posted_.empty();
        if (woken_) {
          const std::uint64_t one = 1;
          [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
        }
        return;
      }
    }
    for (auto& work : posted) work();
    posted.clear();
  }
}

void EventLoop::RunPostedBetween() {
  // What other threads finished meanwhile (a Redis store's publish answers, its reads) goes
  // out now, not after the rest of the round's events: among 1,000 re-polls those take
  // milliseconds, and a publisher would wait for them on each publish. One pass; what it
  // posts runs at the next turn.
  std::vector<std::function<void()>> posted;
  {
    std::lock_guard lock(mu_);
    if (posted_.empty()) return;
    posted.swap(posted_);
  }
  for (auto& work : posted) work();
}

void EventLoop::Run(const Callbacks& callbacks) {
  constexpr int kMaxEvents = 256;
  epoll_event events[kMaxEvents];
  for (;;) {
    const int n = ::epoll_wait(epoll_fd_, events, kMaxEvents, NextTimeoutMs(callbacks));
    now_ = Clock::now();
    {
      std::lock_guard lock(mu_);
      in_round_ = true;
    }
    for (int i = 0; i < n; ++i) {
      if (events[i].data.u64 == kWakeToken) {
        std::uint64_t count;
        [[maybe_unused]] ssize_t r = ::read(wake_fd_, &count, sizeof count);
        continue;
      }
      callbacks.on_ready(events[i].data.u64, events[i].events);
      if ((i + 1) % kEventsBetween == 0) {
        RunPostedBetween();
        if (callbacks.between_events) callbacks.between_events();
      }
    }
    RunTimers(callbacks);
    RunPosted();
    callbacks.after_round();
    std::lock_guard lock(mu_);
    if (stop_) return;
  }
}

}  // namespace livefeed
