#include "http/access_log.h"

#include "log.h"
#include "request_id.h"

namespace livefeed {

void IdentifyRequest(Connection& connection, const RequestHead* head, const Routes& routes) {
  if (head) {
    // Assigned into what the connection's last request left: no allocation per request.
    connection.method.assign(head->method());
    connection.target.assign(head->target());  // Its tokens are redacted in the log.
    connection.client = routes.ClientAddress(connection.peer, *head);
    ChooseRequestId(head->Get(KnownField::kXRequestId).value_or(""), connection.request_id);
    connection.extra_lines.assign(routes.CorsLines(*head));
  } else {
    // What could not be read has no id of its own; its method, if its head was read.
    if (connection.method.empty()) connection.method.assign(1, '-');
    connection.client = connection.peer;
    NewRequestId(connection.request_id);
    connection.extra_lines.clear();
  }
  connection.extra_lines.append("X-Request-Id: ").append(connection.request_id).append("\r\n");
}

metrics::Endpoint MetricsEndpoint(std::string_view method, std::string_view target) {
  switch (Classify(target.substr(0, target.find('?')))) {
    case Endpoint::kPublish:
      return metrics::Endpoint::kPublish;
    case Endpoint::kPoll:
      return metrics::Endpoint::kLongPoll;
    case Endpoint::kStream:
      return metrics::Endpoint::kStream;
    case Endpoint::kHealth:
      return metrics::Endpoint::kHealthz;
    case Endpoint::kMetrics:
      return metrics::Endpoint::kMetrics;
    case Endpoint::kChannels:
      return metrics::Endpoint::kChannels;
    case Endpoint::kOther:
      break;
  }
  // What is not ours is a static file (found or not) when it is a GET or HEAD.
  return method == "GET" || method == "HEAD" ? metrics::Endpoint::kStatic
                                             : metrics::Endpoint::kOther;
}

void RecordAnswer(metrics::Registry& metrics, const Connection& connection, int status,
                  std::uint64_t bytes, Connection::Clock::time_point now) {
  const auto duration = connection.request_start == Connection::Clock::time_point()
                            ? Connection::Clock::duration::zero()
                            : now - connection.request_start;
  const metrics::Endpoint endpoint = MetricsEndpoint(connection.method, connection.target);
  metrics.request_duration[endpoint].Observe(duration);
  if (endpoint == metrics::Endpoint::kPublish && connection.method == "POST" && status >= 400) {
    metrics.publishes_rejected[status].Increment();
  }
  // Only a line that is written needs the time of day (a clock read per request).
  if (!LogEnabled(LogLevel::kInfo)) return;
  LogAccess({.time = std::chrono::system_clock::now(),
             .request_id = connection.request_id,
             .client = connection.client.empty() ? connection.peer : connection.client,
             .method = connection.method,
             .target = connection.target,
             .status = status,
             .bytes = bytes,
             .duration = std::chrono::duration_cast<std::chrono::nanoseconds>(duration)});
}

}  // namespace livefeed
