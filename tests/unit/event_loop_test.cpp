// The event loop's own contract, with real file descriptors and no sockets: ready events are
// all delivered, the between-events hook runs within a round (which gives a publisher its
// turns among 1,000 re-polls, see HttpLoop::ReadPublishers), and posted work runs on it.
#include "http/event_loop.h"

#include <doctest/doctest.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <functional>
#include <vector>

using livefeed::EventLoop;

namespace {

// `count` pipes, each with a byte to read, watched by `loop` with tokens from kFirstToken:
// a round of `count` ready events.
class ReadyPipes {
 public:
  static constexpr std::uint64_t kFirstToken = 100;

  ReadyPipes(EventLoop& loop, int count) {
    for (int i = 0; i < count; ++i) {
      int fds[2];
      REQUIRE(::pipe(fds) == 0);
      read_ends_.push_back(fds[0]);
      write_ends_.push_back(fds[1]);
      REQUIRE(::write(fds[1], "x", 1) == 1);
      REQUIRE(loop.Watch(fds[0], EPOLLIN, kFirstToken + static_cast<std::uint64_t>(i)));
    }
  }
  ~ReadyPipes() {
    for (int fd : read_ends_) ::close(fd);
    for (int fd : write_ends_) ::close(fd);
  }
  ReadyPipes(const ReadyPipes&) = delete;
  ReadyPipes& operator=(const ReadyPipes&) = delete;

  int read_end(std::uint64_t token) const { return read_ends_.at(token - kFirstToken); }

 private:
  std::vector<int> read_ends_, write_ends_;
};

}  // namespace

TEST_CASE("a round of many ready events calls the between-events hook within it") {
  EventLoop loop;
  REQUIRE(loop.error().empty());
  constexpr int kPipes = 5 * EventLoop::kEventsBetween + 3;
  ReadyPipes pipes(loop, kPipes);
  int ready = 0, between = 0, rounds = 0, ready_at_first_between = -1;
  EventLoop::Callbacks callbacks{
      .on_ready =
          [&](std::uint64_t token, std::uint32_t) {
            char byte;
            CHECK(::read(pipes.read_end(token), &byte, 1) == 1);
            ++ready;
          },
      .on_timer = [](std::uint64_t) {},
      .after_round =
          [&] {
            ++rounds;
            if (ready == kPipes) loop.Stop();
          },
      .between_events =
          [&] {
            if (between++ == 0) ready_at_first_between = ready;
          },
  };
  loop.Run(callbacks);
  CHECK(ready == kPipes);
  // Every kEventsBetween events of a round, and not after the last few.
  CHECK(between == kPipes / EventLoop::kEventsBetween);
  CHECK(ready_at_first_between == EventLoop::kEventsBetween);
  CHECK(rounds >= 1);
}

// An answer after a census of subscribers is work posted by posted work: it runs in the same
// round, without waking the loop again; a longer chain goes on in the next round, none lost.
TEST_CASE("work posted by posted work runs in the same round, a long chain in the next") {
  EventLoop loop;
  REQUIRE(loop.error().empty());
  int rounds = 0;
  std::vector<int> ran_in_round;  // The round each link of the chain ran in.
  const int links = 2 * EventLoop::kMaxPostedPasses + 1;
  std::function<void()> link = [&] {
    ran_in_round.push_back(rounds);
    if (static_cast<int>(ran_in_round.size()) < links) loop.Post(link);
  };
  loop.Post(link);
  EventLoop::Callbacks callbacks{
      .on_ready = [](std::uint64_t, std::uint32_t) {},
      .on_timer = [](std::uint64_t) {},
      .after_round =
          [&] {
            ++rounds;
            if (static_cast<int>(ran_in_round.size()) == links) loop.Stop();
          },
  };
  loop.Run(callbacks);
  REQUIRE(static_cast<int>(ran_in_round.size()) == links);
  // The first round runs kMaxPostedPasses links, one a pass; the next round goes on.
  for (int i = 0; i < EventLoop::kMaxPostedPasses; ++i) CHECK(ran_in_round[i] == 0);
  CHECK(ran_in_round[EventLoop::kMaxPostedPasses] == 1);
}

// A Redis store's publish answer is posted to the loop from the store's thread: it goes out
// between the round's events (each kEventsBetween), not after all of them, so a publisher
// beside 1,000 re-polling clients does not wait for every re-poll on each publish.
TEST_CASE("work posted during a round runs between its events, not after them all") {
  EventLoop loop;
  REQUIRE(loop.error().empty());
  constexpr int kPipes = 3 * EventLoop::kEventsBetween;
  ReadyPipes pipes(loop, kPipes);
  int ready = 0, ready_when_posted_ran = -1;
  EventLoop::Callbacks callbacks{
      .on_ready =
          [&](std::uint64_t token, std::uint32_t) {
            char byte;
            CHECK(::read(pipes.read_end(token), &byte, 1) == 1);
            if (ready++ == 0) loop.Post([&] { ready_when_posted_ran = ready; });
          },
      .on_timer = [](std::uint64_t) {},
      .after_round =
          [&] {
            if (ready == kPipes) loop.Stop();
          },
  };
  loop.Run(callbacks);
  CHECK(ready == kPipes);
  CHECK(ready_when_posted_ran == EventLoop::kEventsBetween);
}
