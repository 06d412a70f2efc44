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

TEST_CASE("a round of many ready events calls the between-events hook within it") {
  EventLoop loop;
  REQUIRE(loop.error().empty());
  constexpr int kPipes = 5 * EventLoop::kEventsBetween + 3;
  std::vector<int> read_ends, write_ends;
  for (int i = 0; i < kPipes; ++i) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    read_ends.push_back(fds[0]);
    write_ends.push_back(fds[1]);
    REQUIRE(::write(fds[1], "x", 1) == 1);
    REQUIRE(loop.Watch(fds[0], EPOLLIN, 100 + static_cast<std::uint64_t>(i)));
  }
  int ready = 0, between = 0, rounds = 0, ready_at_first_between = -1;
  EventLoop::Callbacks callbacks{
      .on_ready =
          [&](std::uint64_t token, std::uint32_t) {
            char byte;
            CHECK(::read(read_ends[token - 100], &byte, 1) == 1);
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
  for (int fd : read_ends) ::close(fd);
  for (int fd : write_ends) ::close(fd);
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
