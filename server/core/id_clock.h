// Issues item ids: strictly increasing, below 2^53 (a browser holds them exactly in a
// double) and increasing across restarts although the memory store forgets everything.
// Ids are the wall clock in microseconds, bumped past the last issued id when the clock
// stands still or steps back. Not thread-safe: the store calls it under its own lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

namespace livefeed {

// Microseconds since the Unix epoch. Injected so tests can steer time.
using WallClock = std::function<std::int64_t()>;
WallClock SystemWallClock();

inline constexpr std::uint64_t kMaxId = (std::uint64_t{1} << 53) - 1;

class IdClock {
 public:
  explicit IdClock(WallClock clock);

  // The id before the first one this process will issue: cursors below it predate us.
  std::uint64_t origin() const { return origin_; }
  // The last id issued, or origin() before the first.
  std::uint64_t last() const { return last_; }

  struct Stamp {
    std::uint64_t id;
    std::int64_t timestamp_ms;
  };
  // The next id; with `count` > 1, the first of `count` consecutive ids (a batch).
  Stamp Next(std::size_t count = 1) { return Next(count, clock_()); }
  // The same at `now_us`, read from NowMicros() by a caller that needs the time as well.
  Stamp Next(std::size_t count, std::int64_t now_us);

  std::int64_t NowMicros() const { return clock_(); }

 private:
  WallClock clock_;
  std::uint64_t origin_;
  std::uint64_t last_;
};

}  // namespace livefeed
