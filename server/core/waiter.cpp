#include "core/waiter.h"

namespace livefeed {

void Waiter::Cancel() {
  {
    std::lock_guard lock(mu_);
    cancelled_ = true;
  }
  cv_.notify_all();
}

bool Waiter::cancelled() const {
  std::lock_guard lock(mu_);
  return cancelled_;
}

void Waiter::Wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

bool Waiter::WaitUntil(Clock::time_point deadline) {
  std::unique_lock lock(mu_);
  const bool signalled = cv_.wait_until(lock, deadline, [&] { return woken_ || cancelled_; });
  woken_ = false;
  return signalled;
}

}  // namespace livefeed
