// The answer to a publish once the store has its items, with how many subscribers on this
// node follow each item's channel (`subscribers` in the answer). With one event loop the
// loop counts at once (a store that completes on its own thread hands its answer to the
// loop first: routes.cpp); with several, every loop is asked on its own thread
// (subscriber_census.h) and the answer comes later.
// Safe from any thread (the context's parts it uses are).
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "core/store.h"
#include "http/routes.h"
#include "http/server_context.h"
#include "transport/reply.h"

namespace livefeed {

// Counts what the store kept in the metrics, once for each publish, whether or not its
// client is still there for the answer.
void CountPublished(ServerContext& context, const AppendResult& result);

// `here`: the calling loop's own count, when the call is on the only loop's thread; null
// elsewhere. Returns the reply now, or nullopt when `later` will get it (as an answer).
std::optional<Reply> AnswerPublish(ServerContext& context, const AppendResult& result, bool batch,
                                   const Routes::Subscribers* here, const Routes::Later& later);

}  // namespace livefeed
