#include "store/redis_event_loop.h"

#include <doctest/doctest.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

namespace livefeed {
namespace {

constexpr auto kDeadline = std::chrono::seconds(10);

// A loop on its own thread, stopped (after its posted tasks) when the test ends.
struct RunningLoop {
  RedisEventLoop loop;
  std::thread thread{[this] { loop.Run(); }};
  ~RunningLoop() {
    loop.Stop();
    thread.join();
  }
  // Runs `task` on the loop's thread and waits for it.
  template <typename Task>
  void OnLoop(Task task) {
    std::promise<void> done;
    loop.Post([&] {
      task();
      done.set_value();
    });
    REQUIRE(done.get_future().wait_for(kDeadline) == std::future_status::ready);
  }
};

TEST_CASE("redis event loop: a task posted behind a reply waits for it without a wake") {
  // Declared before the loop, which may still run tasks when it stops at the end.
  std::promise<void> task_ran;
  std::vector<std::string> order;  // Loop thread only.
  RunningLoop running;
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  running.OnLoop([&] {
    running.loop.Watch(fds[0], EPOLLIN, [&](std::uint32_t) {
      char byte;
      [[maybe_unused]] ssize_t n = ::read(fds[0], &byte, 1);
      running.loop.ExpectReply(false);
      order.push_back("reply");
    });
    running.loop.ExpectReply(true);
  });
  const std::uint64_t wakes = running.loop.wakes();
  running.loop.PostBehindReply([&] {
    order.push_back("task");
    task_ran.set_value();
  });
  CHECK(running.loop.wakes() == wakes);  // Left for the reply to wake the loop.
  // The "reply". The task runs by the end of the turn it wakes (or before, had the loop not
  // been asleep yet when it was posted).
  REQUIRE(::write(fds[1], "r", 1) == 1);
  REQUIRE(task_ran.get_future().wait_for(kDeadline) == std::future_status::ready);
  running.OnLoop([&] {
    CHECK(order.size() == 2);
    CHECK(std::count(order.begin(), order.end(), "task") == 1);
  });
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST_CASE("redis event loop: behind no reply, a posted task wakes the loop") {
  std::promise<void> ran;
  RunningLoop running;
  running.OnLoop([] {});  // The tasks posted so far are taken: the next post must wake.
  const std::uint64_t wakes = running.loop.wakes();
  running.loop.PostBehindReply([&] { ran.set_value(); });
  CHECK(running.loop.wakes() == wakes + 1);
  CHECK(ran.get_future().wait_for(kDeadline) == std::future_status::ready);
}

TEST_CASE("redis event loop: Stop runs the tasks waiting behind a reply") {
  bool ran = false;
  {
    RunningLoop running;
    running.OnLoop([&] { running.loop.ExpectReply(true); });
    running.loop.PostBehindReply([&] { ran = true; });
  }  // Stop, then join: Run returns only after every posted task.
  CHECK(ran);
}

}  // namespace
}  // namespace livefeed
