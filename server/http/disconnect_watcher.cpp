#include "http/disconnect_watcher.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace livefeed {
namespace {
constexpr std::uint64_t kWakeTag = ~std::uint64_t{0};

std::uint64_t Tag(int fd, std::uint32_t generation) {
  return (std::uint64_t{generation} << 32) | static_cast<std::uint32_t>(fd);
}
}  // namespace

DisconnectWatcher::DisconnectWatcher()
    : epoll_fd_(::epoll_create1(EPOLL_CLOEXEC)),
      wake_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeTag;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  thread_ = std::thread([this] { Run(); });
}

DisconnectWatcher::~DisconnectWatcher() {
  const std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
  thread_.join();
  ::close(wake_fd_);
  ::close(epoll_fd_);
}

std::unique_ptr<DisconnectWatcher::Guard> DisconnectWatcher::Watch(int fd,
                                                                   std::shared_ptr<Waiter> waiter) {
  std::lock_guard lock(mu_);
  // The generation tells a stale event for a closed fd from one for its reused number.
  const std::uint32_t generation = ++next_generation_;
  epoll_event ev{};
  ev.events = EPOLLRDHUP | EPOLLHUP | EPOLLERR;
  ev.data.u64 = Tag(fd, generation);
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    // Not watchable (should not happen for a socket): the wait ends at its timeout instead.
    return std::make_unique<Guard>(nullptr, fd);
  }
  entries_[fd] = Entry{generation, std::move(waiter)};
  return std::make_unique<Guard>(this, fd);
}

void DisconnectWatcher::Unwatch(int fd) {
  std::lock_guard lock(mu_);
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  entries_.erase(fd);
}

void DisconnectWatcher::Run() {
  epoll_event events[256];
  for (;;) {
    const int n = ::epoll_wait(epoll_fd_, events, 256, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return;
    for (int i = 0; i < n; ++i) {
      if (events[i].data.u64 == kWakeTag) return;
      const int fd = static_cast<int>(events[i].data.u64 & 0xffffffffu);
      const auto generation = static_cast<std::uint32_t>(events[i].data.u64 >> 32);
      std::shared_ptr<Waiter> waiter;
      {
        std::lock_guard lock(mu_);
        auto it = entries_.find(fd);
        if (it == entries_.end() || it->second.generation != generation) continue;
        waiter = std::move(it->second.waiter);
        entries_.erase(it);
        // Level-triggered: stop reporting this fd; the guard's DEL is then a no-op.
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
      }
      waiter->Cancel();
    }
  }
}

}  // namespace livefeed
