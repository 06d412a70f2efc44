// Merging what several channels hold after a cursor into one bounded answer in id order,
// for reads answered from the in-memory tail and from Redis alike.
// Pure function; thread-safe.
#pragma once

#include <cstdint>
#include <vector>

#include "core/store.h"

namespace livefeed {

// One channel's items after the cursor, in id order.
struct ChannelSlice {
  std::vector<ItemPtr> items;
  // False when the channel holds more items after the last of these: nothing newer than
  // that last item may be answered from any channel, or an item could be skipped.
  bool complete = true;
};

// Fills result->items (and result->more) with the slices' items in id order, at most
// request.max_items and request.max_bytes of JSON (at least one item), none above `cap`.
void MergeSlices(const std::vector<ChannelSlice>& slices, const ReadRequest& request,
                 std::uint64_t cap, ReadResult* result);

}  // namespace livefeed
