#include "http/publish_answer.h"

#include <algorithm>
#include <unordered_map>

#include "transport/publish.h"

namespace livefeed {

void CountPublished(ServerContext& context, const AppendResult& result) {
  // Replays add nothing: only what the store kept counts as published.
  if (result.status == StoreStatus::kOk && !result.replayed) {
    context.metrics.items_published.Add(result.items.size());
  }
}

std::optional<Reply> AnswerPublish(ServerContext& context, const AppendResult& result, bool batch,
                                   const Routes::Subscribers* here, const Routes::Later& later) {
  if (result.status != StoreStatus::kOk) {
    return PublishReply(result, batch, [](const std::string&) { return std::size_t{0}; });
  }
  // Each channel is counted once, with its newest item: a loop that has already answered
  // its polls with it still counts them (woken_counts.h).
  const bool counted_here = here && context.census.loops() == 1;
  if (counted_here && result.items.size() == 1) {
    const Item& item = *result.items.front();
    const std::size_t count = (*here)(item.channel, item.id);
    return PublishReply(result, batch, [count](const std::string&) { return count; });
  }
  std::unordered_map<std::string, std::uint64_t> newest;
  for (const ItemPtr& item : result.items) {
    std::uint64_t& id = newest[item->channel];
    id = std::max(id, item->id);
  }
  if (counted_here) {
    SubscriberCensus::Counts counts;
    for (const auto& [channel, id] : newest) counts[channel] = (*here)(channel, id);
    return PublishReply(result, batch, SubscriberCensus::Lookup(counts));
  }
  std::vector<SubscriberCensus::Question> questions;
  for (const auto& [channel, id] : newest) questions.push_back({channel, id});
  context.census.Count(
      std::move(questions), [result, batch, later](const SubscriberCensus::Counts& counts) {
        later(Outcome::Of(PublishReply(result, batch, SubscriberCensus::Lookup(counts))));
      });
  return std::nullopt;
}

}  // namespace livefeed
