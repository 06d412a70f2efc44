// A task queue for httplib::Server that runs every task at once on a thread of its own: an
// idle thread kept from an earlier task, or a new one with a small stack. A long-poll or a
// stream holds its connection's thread, so a fixed pool would make the next client (even
// the publish that would release the others) queue behind them; here nothing ever waits
// for a busy thread. Idle threads exit after `idle_timeout`.
// Safe for concurrent use.
#pragma once

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>

namespace livefeed {

class ThreadPerConnection final : public httplib::TaskQueue {
 public:
  explicit ThreadPerConnection(std::size_t stack_bytes,
                               std::chrono::seconds idle_timeout = std::chrono::seconds(30));
  // Another handle to the same threads: shutdown() on either waits for tasks from both.
  ThreadPerConnection(const ThreadPerConnection& other) = default;

  void enqueue(std::function<void()> fn) override;
  // Blocks until every task has finished and every thread has exited.
  void shutdown() override;

  // True on a thread that runs a task inline because no thread could be created: the
  // task must then finish at once (refuse the connection) rather than block the acceptor.
  static bool RunningInline();

 private:
  struct State {
    std::size_t stack_bytes;
    std::chrono::seconds idle_timeout;
    std::mutex mu;
    std::condition_variable work;             // A task for an idle thread, or shutdown.
    std::condition_variable all_exited;       // threads reached 0.
    std::deque<std::function<void()>> tasks;  // Guarded by mu; never more than `idle`.
    std::size_t threads = 0;                  // Guarded by mu.
    std::size_t idle = 0;                     // Guarded by mu: threads waiting for a task.
    bool shutting_down = false;               // Guarded by mu.
  };
  static void* RunThread(void* state);

  // Shared with the detached threads, which may outlive this handle by a few instructions.
  std::shared_ptr<State> state_;
};

}  // namespace livefeed
