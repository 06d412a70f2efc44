// WokenCounts: what the news of a channel found, asked for after the fact.
#include "http/woken_counts.h"

#include <doctest/doctest.h>

namespace livefeed {
namespace {

using Clock = WokenCounts::Clock;
using std::chrono::seconds;

TEST_CASE("the news of an item tells how many it woke, even once they are gone") {
  WokenCounts counts;
  const Clock::time_point now = Clock::now();
  counts.Record("sport", 10, 3, now);
  CHECK(counts.Find("sport", 10) == 3);
  CHECK(counts.Find("sport", 7) == 3);    // An earlier item's news came with this one.
  CHECK_FALSE(counts.Find("sport", 11));  // Not heard of yet: the caller counts those waiting.
  CHECK_FALSE(counts.Find("news", 10));
}

TEST_CASE("an item is counted by the first news that carried it, not by later ones") {
  WokenCounts counts;
  const Clock::time_point now = Clock::now();
  counts.Record("sport", 10, 3, now);
  // The three polls were answered and have not polled again when item 11 comes.
  counts.Record("sport", 11, 1, now);
  CHECK(counts.Find("sport", 10) == 3);
  CHECK(counts.Find("sport", 11) == 1);
}

TEST_CASE("a channel nobody here follows takes no room until someone does") {
  WokenCounts counts;
  const Clock::time_point now = Clock::now();
  counts.Record("quiet", 5, 0, now);
  CHECK_FALSE(counts.Find("quiet", 5));
  counts.Record("quiet", 6, 2, now);
  counts.Record("quiet", 7, 0, now);  // Once on record, a news that woke none is kept too.
  CHECK(counts.Find("quiet", 7) == 0);
}

TEST_CASE("the record forgets news older than two turnovers, and keeps the last few per channel") {
  WokenCounts counts;
  Clock::time_point now = Clock::now();
  counts.Record("sport", 1, 4, now);
  now += WokenCounts::kKeep;
  counts.Record("news", 1, 1, now);  // Turns over: sport's news is in the older generation.
  CHECK(counts.Find("sport", 1) == 4);
  now += WokenCounts::kKeep;
  counts.Record("news", 2, 1, now);  // Turns over again: sport's is gone.
  CHECK_FALSE(counts.Find("sport", 1));

  for (std::uint64_t id = 10; id < 10 + 2 * WokenCounts::kNews; ++id) {
    counts.Record("busy", id, id, now);
  }
  // The oldest kept stands for the ones that rolled off.
  CHECK(counts.Find("busy", 10) == 10 + WokenCounts::kNews);
  CHECK(counts.Find("busy", 10 + 2 * WokenCounts::kNews - 1) == 10 + 2 * WokenCounts::kNews - 1);
}

}  // namespace
}  // namespace livefeed
