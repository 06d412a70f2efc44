#include "store/redis_event_loop.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

namespace livefeed {
namespace {
constexpr RedisEventLoop::Handle kWakeHandle = 0;
}

RedisEventLoop::RedisEventLoop() {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0) throw std::runtime_error("epoll/eventfd failed");
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.u64 = kWakeHandle;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &event) != 0) {
    throw std::runtime_error("epoll_ctl ADD of the wake eventfd failed");
  }
}

RedisEventLoop::~RedisEventLoop() {
  ::close(wake_fd_);
  ::close(epoll_fd_);
}

void RedisEventLoop::Post(std::function<void()> task) {
  {
    std::lock_guard lock(mu_);
    posted_.push_back(std::move(task));
    // One eventfd write until the loop takes the tasks, however many are posted meanwhile
    // (an event loop handing over a burst of publishes).
    if (woken_) return;
    woken_ = true;
  }
  Wake();
}

void RedisEventLoop::PostBehindReply(std::function<void()> task) {
  {
    std::lock_guard lock(mu_);
    posted_.push_back(std::move(task));
    // The reply's turn runs every posted task (RunPosted takes them all).
    if (woken_ || reply_expected_) return;
    woken_ = true;
  }
  Wake();
}

void RedisEventLoop::ExpectReply(bool expected) {
  // Tasks still behind a reply no longer expected need no wake either: this runs on the
  // loop's thread, which does not sleep while posted_ holds any (MillisToNextTimer).
  std::lock_guard lock(mu_);
  reply_expected_ = expected;
}

void RedisEventLoop::Wake() {
  wakes_.fetch_add(1, std::memory_order_relaxed);
  const std::uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

void RedisEventLoop::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  Wake();
}

void RedisEventLoop::Run() {
  epoll_event events[64];
  for (;;) {
    const int n = ::epoll_wait(epoll_fd_, events, 64, MillisToNextTimer());
    if (n < 0 && errno != EINTR) throw std::runtime_error("epoll_wait failed");
    for (int i = 0; i < n; ++i) {
      const Handle handle = events[i].data.u64;
      if (handle == kWakeHandle) {
        std::uint64_t count;
        [[maybe_unused]] ssize_t r = ::read(wake_fd_, &count, sizeof count);
        continue;
      }
      // Looked up per event: an earlier callback of this batch may have unwatched it.
      auto it = watched_.find(handle);
      if (it == watched_.end()) continue;
      auto on_event = it->second.on_event;  // The callback may unwatch (and free) itself.
      on_event(events[i].events);
    }
    RunDueTimers();
    RunPosted();
    RunTurnEnd();
    std::lock_guard lock(mu_);
    if (stopping_ && posted_.empty()) break;
  }
}

void RedisEventLoop::RunPosted() {
  std::vector<std::function<void()>> tasks;
  {
    std::lock_guard lock(mu_);
    tasks.swap(posted_);
    woken_ = false;
  }
  for (auto& task : tasks) task();
}

void RedisEventLoop::RunTurnEnd() {
  // A task may add more (a flush after a send): they run in this turn too.
  while (!turn_end_.empty()) {
    std::vector<std::function<void()>> tasks;
    tasks.swap(turn_end_);
    for (auto& task : tasks) task();
  }
}

RedisEventLoop::Handle RedisEventLoop::Watch(int fd, std::uint32_t events,
                                             std::function<void(std::uint32_t)> on_event) {
  const Handle handle = next_handle_++;
  epoll_event event{};
  event.events = events;
  event.data.u64 = handle;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0) {
    throw std::runtime_error("epoll_ctl ADD failed");
  }
  watched_.emplace(handle, Watched{fd, std::move(on_event)});
  return handle;
}

void RedisEventLoop::Modify(Handle handle, std::uint32_t events) {
  auto it = watched_.find(handle);
  if (it == watched_.end()) return;
  epoll_event event{};
  event.events = events;
  event.data.u64 = handle;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, it->second.fd, &event);
}

void RedisEventLoop::Unwatch(Handle handle) {
  auto it = watched_.find(handle);
  if (it == watched_.end()) return;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, it->second.fd, nullptr);
  watched_.erase(it);
}

RedisEventLoop::Handle RedisEventLoop::RunAfter(Clock::duration delay, std::function<void()> task) {
  const Handle handle = next_handle_++;
  const Clock::time_point due = Clock::now() + delay;
  timers_.emplace(std::make_pair(due, handle), std::move(task));
  timer_due_.emplace(handle, due);
  return handle;
}

void RedisEventLoop::Cancel(Handle timer) {
  auto it = timer_due_.find(timer);
  if (it == timer_due_.end()) return;
  timers_.erase({it->second, timer});
  timer_due_.erase(it);
}

void RedisEventLoop::RunDueTimers() {
  const Clock::time_point now = Clock::now();
  while (!timers_.empty() && timers_.begin()->first.first <= now) {
    auto node = timers_.extract(timers_.begin());
    timer_due_.erase(node.key().second);
    node.mapped()();  // May add or cancel timers.
  }
}

int RedisEventLoop::MillisToNextTimer() const {
  {
    std::lock_guard lock(mu_);
    if (!posted_.empty() || stopping_) return 0;
  }
  if (timers_.empty()) return -1;
  const auto wait = timers_.begin()->first.first - Clock::now();
  if (wait <= Clock::duration::zero()) return 0;
  // Rounded up, so a timer is never run a little early and then waited for again.
  return static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(wait).count());
}

}  // namespace livefeed
