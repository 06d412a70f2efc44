#include "http/thread_per_connection.h"

#include <pthread.h>

namespace livefeed {
namespace {
thread_local bool t_running_inline = false;
}  // namespace

ThreadPerConnection::ThreadPerConnection(std::size_t stack_bytes) : stack_bytes_(stack_bytes) {}

bool ThreadPerConnection::RunningInline() { return t_running_inline; }

void ThreadPerConnection::Finish(State& state) {
  std::lock_guard lock(state.mu);
  if (--state.running == 0) state.idle.notify_all();
}

void* ThreadPerConnection::RunTask(void* arg) {
  std::unique_ptr<Task> task(static_cast<Task*>(arg));
  task->fn();
  std::shared_ptr<State> state = std::move(task->state);
  task.reset();
  Finish(*state);
  return nullptr;
}

void ThreadPerConnection::enqueue(std::function<void()> fn) {
  {
    std::lock_guard lock(state_->mu);
    ++state_->running;
  }
  auto task = std::make_unique<Task>(Task{state_, std::move(fn)});
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, stack_bytes_);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t thread;
  const int rc = pthread_create(&thread, &attr, &RunTask, task.get());
  pthread_attr_destroy(&attr);
  if (rc == 0) {
    task.release();  // RunTask owns it now.
    return;
  }
  // Out of threads: the queue cannot refuse (dropping the task would leak the socket), so
  // the task runs here and, seeing RunningInline(), turns the client away at once.
  t_running_inline = true;
  task->fn();
  t_running_inline = false;
  Finish(*state_);
}

void ThreadPerConnection::shutdown() {
  std::unique_lock lock(state_->mu);
  state_->idle.wait(lock, [&] { return state_->running == 0; });
}

}  // namespace livefeed
