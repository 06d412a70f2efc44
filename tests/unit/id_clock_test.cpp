// IdClock: ids increase strictly whatever the wall clock does, stay exact in a double, and
// a clock made later (a restarted process) issues ids above the earlier one's.
#include "core/id_clock.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "store/memory_store.h"

namespace livefeed {
namespace {

constexpr std::int64_t kSomeTimeUs = 1'700'000'000'000'000;  // Late 2023.

// A wall clock the test moves by hand.
struct FakeWallClock {
  std::int64_t now_us = kSomeTimeUs;
  WallClock AsWallClock() {
    return [this] { return now_us; };
  }
};

TEST_CASE("ids follow the wall clock in microseconds when it moves forward") {
  FakeWallClock time;
  IdClock ids(time.AsWallClock());
  time.now_us += 1000;
  IdClock::Stamp stamp = ids.Next();
  CHECK(stamp.id == static_cast<std::uint64_t>(time.now_us));
  CHECK(stamp.timestamp_ms == time.now_us / 1000);
  CHECK(ids.last() == stamp.id);
}

TEST_CASE("the first id is above the origin even when the clock stands still") {
  FakeWallClock time;
  IdClock ids(time.AsWallClock());
  CHECK(ids.origin() == static_cast<std::uint64_t>(kSomeTimeUs));
  CHECK(ids.last() == ids.origin());
  CHECK(ids.Next().id > ids.origin());
}

TEST_CASE("ids strictly increase while the clock stands still") {
  FakeWallClock time;
  IdClock ids(time.AsWallClock());
  std::uint64_t previous = ids.last();
  for (int i = 0; i < 1000; ++i) {
    const std::uint64_t id = ids.Next().id;
    REQUIRE(id > previous);
    previous = id;
  }
}

TEST_CASE("ids strictly increase when the clock steps back") {
  FakeWallClock time;
  IdClock ids(time.AsWallClock());
  time.now_us += 5'000'000;
  const std::uint64_t before_step = ids.Next().id;
  // An NTP correction may move the clock back by seconds.
  time.now_us -= 60'000'000;
  const std::uint64_t after_step = ids.Next().id;
  CHECK(after_step > before_step);
  CHECK(ids.Next().id > after_step);
}

TEST_CASE("ids resume following the clock once it passes the last id again") {
  FakeWallClock time;
  IdClock ids(time.AsWallClock());
  time.now_us += 100;
  ids.Next();
  time.now_us -= 50;
  ids.Next();
  time.now_us += 10'000;
  CHECK(ids.Next().id == static_cast<std::uint64_t>(time.now_us));
}

TEST_CASE("ids from the system clock are below 2^53") {
  IdClock ids(SystemWallClock());
  for (int i = 0; i < 100; ++i) REQUIRE(ids.Next().id <= kMaxId);
  CHECK(kMaxId == 9007199254740991u);
}

TEST_CASE("a clock made later issues ids above every id of the earlier one") {
  FakeWallClock time;
  IdClock before_restart(time.AsWallClock());
  std::uint64_t last_before = 0;
  // A burst within one microsecond pushes ids ahead of the clock.
  for (int i = 0; i < 10; ++i) last_before = before_restart.Next().id;

  // Restarting takes far longer than the burst ran ahead.
  time.now_us += 1'000'000;
  IdClock after_restart(time.AsWallClock());
  CHECK(after_restart.origin() > last_before);
  CHECK(after_restart.Next().id > last_before);
}

std::uint64_t AppendOne(MemoryStore& store) {
  AppendRequest request;
  request.drafts.push_back({"default", "", "1"});
  return store.Append(std::move(request)).items.at(0)->id;
}

TEST_CASE("a batch takes consecutive ids") {
  FakeWallClock time;
  IdClock ids(time.AsWallClock());
  const IdClock::Stamp batch = ids.Next(3);
  CHECK(ids.last() == batch.id + 2);
  CHECK(ids.Next().id == batch.id + 3);
}

TEST_CASE("a memory store made later issues ids above every id of the earlier one") {
  FakeWallClock time;
  std::vector<std::uint64_t> old_ids;
  {
    MemoryStore old_store({}, time.AsWallClock());
    for (int i = 0; i < 5; ++i) old_ids.push_back(AppendOne(old_store));
  }
  time.now_us += 1'000'000;
  MemoryStore new_store({}, time.AsWallClock());
  CHECK(new_store.Head() > old_ids.back());
  CHECK(AppendOne(new_store) > old_ids.back());
}

TEST_CASE("a clock reading before the epoch still yields positive increasing ids") {
  FakeWallClock time;
  time.now_us = -5;
  IdClock ids(time.AsWallClock());
  CHECK(ids.origin() >= 1);
  const std::uint64_t first = ids.Next().id;
  CHECK(first > ids.origin());
  CHECK(ids.Next().id > first);
}

}  // namespace
}  // namespace livefeed
