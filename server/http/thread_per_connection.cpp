#include "http/thread_per_connection.h"

#include <pthread.h>

namespace livefeed {
namespace {
thread_local bool t_running_inline = false;

struct ThreadStart {
  std::shared_ptr<void> state;
  std::function<void()> first_task;
};
}  // namespace

ThreadPerConnection::ThreadPerConnection(std::size_t stack_bytes, std::chrono::seconds idle_timeout)
    : state_(std::make_shared<State>()) {
  state_->stack_bytes = stack_bytes;
  state_->idle_timeout = idle_timeout;
}

bool ThreadPerConnection::RunningInline() { return t_running_inline; }

void* ThreadPerConnection::RunThread(void* arg) {
  std::unique_ptr<ThreadStart> start(static_cast<ThreadStart*>(arg));
  std::shared_ptr<State> state = std::static_pointer_cast<State>(start->state);
  std::function<void()> task = std::move(start->first_task);
  start.reset();
  for (;;) {
    task();
    task = nullptr;
    std::unique_lock lock(state->mu);
    ++state->idle;
    const bool got_work = state->work.wait_for(
        lock, state->idle_timeout, [&] { return !state->tasks.empty() || state->shutting_down; });
    if (!state->tasks.empty()) {
      // enqueue() already counted this thread as taken.
      task = std::move(state->tasks.front());
      state->tasks.pop_front();
      continue;
    }
    (void)got_work;
    --state->idle;
    --state->threads;
    if (state->threads == 0) state->all_exited.notify_all();
    return nullptr;
  }
}

void ThreadPerConnection::enqueue(std::function<void()> fn) {
  {
    std::lock_guard lock(state_->mu);
    if (state_->idle > state_->tasks.size()) {
      // An idle thread takes it; counting it as taken now keeps two tasks from one thread.
      --state_->idle;
      state_->tasks.push_back(std::move(fn));
      state_->work.notify_one();
      return;
    }
    ++state_->threads;
  }
  auto start = std::make_unique<ThreadStart>(ThreadStart{state_, std::move(fn)});
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, state_->stack_bytes);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t thread;
  const int rc = pthread_create(&thread, &attr, &RunThread, start.get());
  pthread_attr_destroy(&attr);
  if (rc == 0) {
    start.release();  // RunThread owns it now.
    return;
  }
  // Out of threads: the queue cannot refuse (dropping the task would leak the socket), so
  // the task runs here and, seeing RunningInline(), turns the client away at once.
  t_running_inline = true;
  start->first_task();
  t_running_inline = false;
  std::lock_guard lock(state_->mu);
  if (--state_->threads == 0) state_->all_exited.notify_all();
}

void ThreadPerConnection::shutdown() {
  std::unique_lock lock(state_->mu);
  state_->shutting_down = true;
  state_->work.notify_all();
  state_->all_exited.wait(lock, [&] { return state_->threads == 0; });
}

}  // namespace livefeed
