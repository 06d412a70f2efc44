#include "http/worker_pool.h"

namespace livefeed {

WorkerPool::WorkerPool(std::size_t threads, std::size_t queue_limit) : queue_limit_(queue_limit) {
  threads_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { Work(); });
}

WorkerPool::~WorkerPool() { Stop(); }

void WorkerPool::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  ready_.notify_all();
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

bool WorkerPool::Submit(std::function<void()> work) {
  {
    std::lock_guard lock(mu_);
    if (stopping_ || queue_.size() >= queue_limit_) return false;
    queue_.push_back(std::move(work));
  }
  ready_.notify_one();
  return true;
}

std::size_t WorkerPool::backlog() {
  std::lock_guard lock(mu_);
  return queue_.size() + running_;
}

void WorkerPool::Work() {
  for (;;) {
    std::function<void()> work;
    {
      std::unique_lock lock(mu_);
      // Every wait ends: on work, or on stopping with nothing left to run.
      ready_.wait(lock, [this] { return !queue_.empty() || stopping_; });
      if (queue_.empty()) return;
      work = std::move(queue_.front());
      queue_.pop_front();
      ++running_;
    }
    work();
    std::lock_guard lock(mu_);
    --running_;
  }
}

}  // namespace livefeed
