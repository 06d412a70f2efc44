// The answer to a publish once the store has its items: counted in the metrics, and with
// how many subscribers on this node follow each item's channel (`subscribers` in the
// answer). With one event loop and the store's answer on that loop, the loop counts at
// once; otherwise (several loops, or a shared store that completes on its own thread)
// every loop is asked on its own thread (subscriber_census.h) and the answer comes later.
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

// `here`: the calling loop's own count, when the call is on the only loop's thread; null
// elsewhere. Returns the reply now, or nullopt when `later` will get it (as an answer).
std::optional<Reply> AnswerPublish(ServerContext& context, AppendResult result, bool batch,
                                   const std::function<std::size_t(const std::string&)>* here,
                                   const Routes::Later& later);

}  // namespace livefeed
