#include "http/publish_answer.h"

#include <algorithm>
#include <unordered_map>

#include "transport/publish.h"

namespace livefeed {

std::optional<Reply> AnswerPublish(ServerContext& context, AppendResult result, bool batch,
                                   const std::function<std::size_t(const std::string&)>* here,
                                   const Routes::Later& later) {
  // Replays add nothing: only what the store kept counts as published.
  if (result.status == StoreStatus::kOk && !result.replayed) {
    context.metrics.items_published.Add(result.items.size());
  }
  if (result.status != StoreStatus::kOk) {
    return PublishReply(result, batch, [](const std::string&) { return std::size_t{0}; });
  }
  if (here && context.census.loops() == 1) return PublishReply(result, batch, *here);
  // Each channel once, with its newest item: a loop that has already answered its polls
  // with it still counts them (woken_counts.h).
  std::unordered_map<std::string, std::uint64_t> newest;
  for (const ItemPtr& item : result.items) {
    std::uint64_t& id = newest[item->channel];
    id = std::max(id, item->id);
  }
  std::vector<SubscriberCensus::Question> questions;
  for (const auto& [channel, id] : newest) questions.push_back({channel, id});
  context.census.Count(std::move(questions), [result = std::move(result), batch,
                                              later](const SubscriberCensus::Counts& counts) {
    later(Outcome::Of(PublishReply(result, batch, SubscriberCensus::Lookup(counts))));
  });
  return std::nullopt;
}

}  // namespace livefeed
