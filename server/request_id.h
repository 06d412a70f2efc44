// Request ids tie a request's access-log line to the logs of the client and of the proxies
// in front (nginx's $request_id, a load balancer's X-Request-Id). Plain functions; safe
// for concurrent use.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace livefeed {

// Longer incoming ids are replaced: a header that big is no id anyone would match on.
inline constexpr std::size_t kMaxRequestIdLength = 200;

// Sets `id` to the id for a request: `incoming` (its X-Request-Id header) kept when it is
// 1 to kMaxRequestIdLength visible ASCII characters (no spaces or control bytes, which
// could split a log line or a response header), otherwise a new one. The caller returns it
// in the response's X-Request-Id. Written into `id`, whose capacity a connection reuses:
// no allocation per request.
void ChooseRequestId(std::string_view incoming, std::string& id);

// Sets `id` to 32 random lowercase hex digits, like nginx's $request_id.
void NewRequestId(std::string& id);

}  // namespace livefeed
