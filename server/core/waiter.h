// One subscriber's place in line. The feed wakes it when an item arrives on a channel it
// follows; whoever watches the subscriber's connection may cancel it when the client leaves.
// Safe for concurrent use: Wake and Cancel may come from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>

namespace livefeed {

class Waiter {
 public:
  using Clock = std::chrono::steady_clock;

  // The subscriber is gone: any wait ends now and later waits return at once.
  void Cancel();
  bool cancelled() const;

  // A publish may have brought something for this waiter.
  void Wake();

  // For waits that hold no thread: `callback` runs on the waking thread after every Wake
  // or Cancel, and at once if one already happened. It must be quick and must not call
  // back into the feed (the parking lot only queues the waiter's connection).
  void SetOnWake(std::function<void()> callback);

  // Blocks until woken, cancelled or `deadline`. Returns true when woken or cancelled;
  // consumes the wake so the next call waits for a new one.
  bool WaitUntil(Clock::time_point deadline);

 private:
  // Sets `flag` (one of the two below), wakes the waiting thread and runs the callback.
  void Signal(bool& flag);

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool woken_ = false;             // Guarded by mu_.
  bool cancelled_ = false;         // Guarded by mu_.
  std::function<void()> on_wake_;  // Guarded by mu_.
};

}  // namespace livefeed
