#include "core/waiter.h"

namespace livefeed {

void Waiter::Cancel() { Signal(cancelled_); }

void Waiter::Wake() { Signal(woken_); }

void Waiter::Signal(bool& flag) {
  std::function<void()> callback;
  {
    std::lock_guard lock(mu_);
    flag = true;
    callback = on_wake_;
  }
  cv_.notify_all();
  if (callback) callback();
}

bool Waiter::cancelled() const {
  std::lock_guard lock(mu_);
  return cancelled_;
}

void Waiter::SetOnWake(std::function<void()> callback) {
  bool already;
  {
    std::lock_guard lock(mu_);
    on_wake_ = callback;
    already = woken_ || cancelled_;
  }
  if (already && callback) callback();
}

bool Waiter::WaitUntil(Clock::time_point deadline) {
  std::unique_lock lock(mu_);
  const bool signalled = cv_.wait_until(lock, deadline, [&] { return woken_ || cancelled_; });
  woken_ = false;
  return signalled;
}

}  // namespace livefeed
