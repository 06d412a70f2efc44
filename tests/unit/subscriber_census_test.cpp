// SubscriberCensus: every loop counts on its own thread, and the sums arrive once.
#include "http/subscriber_census.h"

#include <doctest/doctest.h>

#include <condition_variable>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <thread>

namespace livefeed {
namespace {

// A thread that runs posted work in order, like an event loop, and whose subscriber counts
// may only be read on it.
class FakeLoop {
 public:
  explicit FakeLoop(std::map<std::string, std::size_t> counts)
      : counts_(std::move(counts)), thread_([this] { Run(); }) {}
  ~FakeLoop() {
    Post({});
    thread_.join();
  }
  void Post(std::function<void()> work) {
    std::lock_guard lock(mu_);
    work_.push_back(std::move(work));
    ready_.notify_one();
  }
  std::size_t Count(const std::string& channel, std::uint64_t) const {
    CHECK(std::this_thread::get_id() == thread_.get_id());
    auto it = counts_.find(channel);
    return it == counts_.end() ? 0 : it->second;
  }
  SubscriberCensus::Loop AsLoop() {
    return {.post = [this](std::function<void()> work) { Post(std::move(work)); },
            .count = [this](const std::string& channel,
                            std::uint64_t id) { return Count(channel, id); }};
  }

 private:
  void Run() {
    for (;;) {
      std::function<void()> work;
      {
        std::unique_lock lock(mu_);
        ready_.wait(lock, [this] { return !work_.empty(); });
        work = std::move(work_.front());
        work_.pop_front();
      }
      if (!work) return;  // The destructor's: stop.
      work();
    }
  }

  const std::map<std::string, std::size_t> counts_;
  std::mutex mu_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> work_;  // Guarded by mu_.
  std::thread thread_;
};

TEST_CASE("the census sums each channel over every loop and answers once") {
  FakeLoop a({{"sport", 2}, {"news", 1}});
  FakeLoop b({{"sport", 3}});
  FakeLoop c({});
  SubscriberCensus census;
  for (FakeLoop* loop : {&a, &b, &c}) census.Add(loop->AsLoop());
  CHECK(census.loops() == 3);

  std::mutex mu;
  std::condition_variable done;
  int answers = 0;
  SubscriberCensus::Counts got;
  census.Count({{"sport", 0}, {"news", 0}, {"weather", 0}}, [&](SubscriberCensus::Counts counts) {
    std::lock_guard lock(mu);
    got = std::move(counts);
    ++answers;
    done.notify_all();
  });
  std::unique_lock lock(mu);
  REQUIRE(done.wait_for(lock, std::chrono::seconds(10), [&] { return answers > 0; }));
  CHECK(got == SubscriberCensus::Counts{{"sport", 5}, {"news", 1}, {"weather", 0}});
  lock.unlock();
  // Every loop has run its part by now; a second answer would have come with it.
  for (FakeLoop* loop : {&a, &b, &c}) {
    std::promise<void> flushed;
    loop->Post([&] { flushed.set_value(); });
    flushed.get_future().wait();
  }
  CHECK(answers == 1);
}

}  // namespace
}  // namespace livefeed
