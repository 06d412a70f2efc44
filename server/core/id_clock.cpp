#include "core/id_clock.h"

#include <algorithm>
#include <chrono>

namespace livefeed {

WallClock SystemWallClock() {
  return [] {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
}

IdClock::IdClock(WallClock clock)
    : clock_(std::move(clock)),
      origin_(static_cast<std::uint64_t>(std::max<std::int64_t>(clock_(), 1))),
      last_(origin_) {}

IdClock::Stamp IdClock::Next(std::size_t count, std::int64_t now) {
  // A clock that stands still or steps back must not make ids repeat or go down.
  const std::uint64_t first = std::max<std::uint64_t>(
      last_ + 1, static_cast<std::uint64_t>(std::max<std::int64_t>(now, 0)));
  last_ = first + (count == 0 ? 0 : count - 1);
  return {first, now / 1000};
}

}  // namespace livefeed
