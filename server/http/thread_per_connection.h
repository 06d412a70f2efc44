// A task queue for httplib::Server that gives every connection its own thread with a small
// stack. A long-poll holds its connection's thread while it waits, so a fixed pool would
// make the next client (even the publish that would release the others) queue behind them.
// Safe for concurrent use.
#pragma once

#include <httplib.h>

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>

namespace livefeed {

class ThreadPerConnection final : public httplib::TaskQueue {
 public:
  explicit ThreadPerConnection(std::size_t stack_bytes);
  // Another handle to the same threads: shutdown() on either waits for tasks from both.
  ThreadPerConnection(const ThreadPerConnection& other) = default;

  void enqueue(std::function<void()> fn) override;
  // Blocks until every task has finished.
  void shutdown() override;

  // True on a thread that runs a task inline because no thread could be created: the
  // task must then finish at once (refuse the connection) rather than block the acceptor.
  static bool RunningInline();

 private:
  struct State {
    std::mutex mu;
    std::condition_variable idle;
    std::size_t running = 0;  // Guarded by mu.
  };
  struct Task {
    std::shared_ptr<State> state;
    std::function<void()> fn;
  };
  static void* RunTask(void* task);
  static void Finish(State& state);

  const std::size_t stack_bytes_;
  // Shared with the detached threads, which may outlive this queue by a few instructions.
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

}  // namespace livefeed
