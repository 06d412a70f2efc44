#include "store/read_merge.h"

#include <algorithm>

namespace livefeed {

void MergeSlices(const std::vector<ChannelSlice>& slices, const ReadRequest& request,
                 std::uint64_t cap, ReadResult* result) {
  // An incomplete slice ends where Redis stopped: items past it may exist on its channel.
  std::uint64_t limit = cap;
  for (const ChannelSlice& slice : slices) {
    if (!slice.complete && !slice.items.empty()) {
      limit = std::min(limit, slice.items.back()->id);
    }
    if (!slice.complete) result->more = true;
  }
  std::vector<std::size_t> next(slices.size(), 0);
  std::size_t bytes = 0;
  for (;;) {
    const ItemPtr* pick = nullptr;
    std::size_t picked = 0;
    for (std::size_t i = 0; i < slices.size(); ++i) {
      if (next[i] == slices[i].items.size()) continue;
      const ItemPtr& item = slices[i].items[next[i]];
      if (!pick || item->id < (*pick)->id) pick = &item, picked = i;
    }
    if (!pick) break;
    const ItemPtr& item = *pick;
    if (item->id > limit) {
      if (item->id <= cap) result->more = true;
      break;
    }
    // Bounded by count and bytes, but never empty: a reader must always move on.
    if (!result->items.empty() && (result->items.size() >= request.max_items ||
                                   bytes + item->json.size() > request.max_bytes)) {
      result->more = true;
      break;
    }
    bytes += item->json.size();
    result->items.push_back(item);
    ++next[picked];
  }
}

}  // namespace livefeed
