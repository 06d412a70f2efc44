// How many subscribers the news of a channel woke on one event loop, kept for a little
// while. A publish's answer says how many subscribers its item reached; by the time the
// count is taken (on another loop's thread, or after a shared store's round trip) this
// loop may have answered its polls with the item already, and they are no longer waiting.
// What the news found is the count that stays true.
// Per channel, the last kNews news that woke anyone; two generations turned over every
// kKeep, so the record holds only channels with recent news, whatever the number of
// channels. Not thread-safe: owned by one event loop.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

namespace livefeed {

class WokenCounts {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::seconds kKeep{10};
  static constexpr std::size_t kNews = 8;

  // News of `channel` up to item `newest`, which woke `woken` subscribers, at `now`.
  void Record(const std::string& channel, std::uint64_t newest, std::size_t woken,
              Clock::time_point now);
  // The subscribers woken by the first news of item `id` (or a later one) on `channel`
  // still on record; nullopt when there is none (no such news yet, or long ago).
  std::optional<std::size_t> Find(const std::string& channel, std::uint64_t id) const;

 private:
  struct News {
    std::uint64_t newest = 0;
    std::size_t woken = 0;
  };
  // The last news of a channel, oldest first once the ring has wrapped.
  struct Ring {
    std::array<News, kNews> news;
    std::size_t next = 0;   // Where the next news goes.
    std::size_t count = 0;  // News held (at most kNews).
  };
  std::unordered_map<std::string, Ring> recent_, older_;
  Clock::time_point turned_{};
};

}  // namespace livefeed
