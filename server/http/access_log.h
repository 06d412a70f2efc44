// Who asked, and the one record of every answer livefeed writes: the request's id, its
// access-log line (FormatAccessLine in log.h, text or JSON) and the request metrics that
// belong to an answer (its duration by endpoint, a refused publish by status).
// HttpLoop::LogAccess records once per answer; a stream's when it ends, with all it sent.
// Plain functions; safe for concurrent use (the instruments are atomic).
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "http/connection.h"
#include "http/request_parser.h"
#include "http/routes.h"
#include "metrics/metrics.h"

namespace livefeed {

// Names the request `connection` answers next: its X-Request-Id (kept or made) and the lines
// every answer to it carries (CORS, the id), and what the access log says of it. Without a
// head (a request that could not be read), a new id and what is known.
void IdentifyRequest(Connection& connection, const RequestHead* head, const Routes& routes);

// The endpoint label of a request, from its method and target.
metrics::Endpoint MetricsEndpoint(std::string_view method, std::string_view target);

// Logs and counts the answer to `connection`'s current request: `status`, `bytes` of head
// and body, complete at `now`.
void RecordAnswer(metrics::Registry& metrics, const Connection& connection, int status,
                  std::uint64_t bytes, Connection::Clock::time_point now);

}  // namespace livefeed
