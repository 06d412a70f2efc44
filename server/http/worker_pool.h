// A bounded pool of threads for work that may block: the event loop hands it what must
// not run on the loop's thread (an authorization call, a large file) and takes the result
// back with EventLoop::Post. Bounded twice: `threads` run at once and at most
// `queue_limit` wait; past that Submit refuses, and the caller answers 503 at once.
// Safe for concurrent use.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace livefeed {

class WorkerPool {
 public:
  WorkerPool(std::size_t threads, std::size_t queue_limit);
  ~WorkerPool();  // Stop().
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // False when the queue is full or the pool is stopping: the work will not run.
  bool Submit(std::function<void()> work);

  // Runs what is queued, then joins the threads; Submit refuses from then on. The owner
  // calls it before destroying what the jobs report to (the event loops).
  void Stop();

  // Jobs waiting or running, for the metrics.
  std::size_t backlog();

 private:
  void Work();

  const std::size_t queue_limit_;
  std::mutex mu_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> queue_;  // Guarded by mu_.
  std::size_t running_ = 0;                  // Guarded by mu_.
  bool stopping_ = false;                    // Guarded by mu_.
  std::vector<std::thread> threads_;
};

}  // namespace livefeed
