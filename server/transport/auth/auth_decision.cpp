#include "transport/auth/auth_decision.h"

#include <nlohmann/json.hpp>

#include "transport/sse_format.h"

namespace livefeed {

std::string_view AuthActionName(AuthAction action) {
  return action == AuthAction::kPublish ? "publish" : "subscribe";
}

AuthDecision AllowAuth(std::optional<std::chrono::system_clock::time_point> expires) {
  return AuthDecision{.status = 200, .error = {}, .expires = expires};
}

AuthDecision RefuseAuth(int status, std::string error) {
  return AuthDecision{.status = status, .error = std::move(error), .expires = std::nullopt};
}

Reply RefusalReply(const AuthDecision& decision) {
  Reply reply = JsonError(decision.status, decision.error);
  // RFC 6750, section 3: a 401 names the scheme the client should use.
  if (decision.status == 401) {
    reply.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"livefeed\"");
  }
  if (decision.status == 503) {
    reply.headers.emplace_back("Retry-After", std::to_string(kAuthRetryAfterSeconds));
  }
  return reply;
}

void AppendUnauthorizedEvent(std::string& out, std::string_view error) {
  nlohmann::json data = {{"error", std::string(error)}};
  AppendSseEvent(out, 0, "unauthorized",
                 data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace livefeed
