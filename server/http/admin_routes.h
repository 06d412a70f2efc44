// The operator's endpoints, beside the feed's (routes.h dispatches to them):
//   GET /metrics          the Prometheus text exposition (metrics/metrics.h), rendered on a
//                         worker: it reads /proc.
//   GET /channels         the channels holding items, in name order, a page at a time
//                         (?after=<the last name of the previous page>&limit=N), each as
//   GET /channels/<name>  {"channel", "subscribers", "items", "head", "last_publish"}:
//                         what the store holds of it and how many of this node's waiting
//                         polls and streams follow it.
// With --admin-token set, each needs `Authorization: Bearer <token>` (never ?token=: a
// URL ends up in logs). They take GET and HEAD only, and no body.
// Safe for concurrent use (plain functions over the shared context and the caller's
// settings).
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "http/request_parser.h"
#include "http/routes.h"
#include "http/server_context.h"

namespace livefeed {

inline constexpr std::size_t kDefaultChannelPage = 100;
inline constexpr std::size_t kMaxChannelPage = 1000;

Outcome ServeMetrics(ServerContext& context, const LiveSettings& live, const RequestHead& head,
                     Routes::Later later);

// `here`: the calling loop's count of a channel's subscribers (used when it is the only loop).
Outcome ServeChannels(ServerContext& context, const LiveSettings& live, const RequestHead& head,
                      Routes::Later later, const Routes::Subscribers& here);

}  // namespace livefeed
