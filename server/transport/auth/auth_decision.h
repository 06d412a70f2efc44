// Whether a request may subscribe to or publish on its channels: the answer of a signed
// token (jwt.h) or of the application's hook (http/auth_hook.h), as a plain value, and the
// reply or stream ending that carries a refusal to the client.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "transport/reply.h"

namespace livefeed {

enum class AuthAction { kSubscribe, kPublish };

// "subscribe" or "publish", as tokens and the hook's requests spell them.
std::string_view AuthActionName(AuthAction action);

// How long a client refused because the hook failed should wait before it retries.
inline constexpr int kAuthRetryAfterSeconds = 5;

struct AuthDecision {
  // 200: allowed. Refused: 401 (no valid token), 403 (not these channels) or 503 (the hook
  // could not answer; retryable), with `error` saying why.
  int status = 200;
  std::string error;
  // When the token that allowed the request stops being accepted: a stream must end then
  // (AppendUnauthorizedEvent). Absent: never (the hook's answers, shared tokens).
  std::optional<std::chrono::system_clock::time_point> expires;

  bool allowed() const { return status == 200; }
};

AuthDecision AllowAuth(std::optional<std::chrono::system_clock::time_point> expires = {});
AuthDecision RefuseAuth(int status, std::string error);

// The reply that refuses a request: {"error": ...} with the decision's status, plus
// WWW-Authenticate on a 401 and Retry-After on a 503.
Reply RefusalReply(const AuthDecision& decision);

// The last event of a stream whose token has expired (or whose access ended otherwise):
// "event: unauthorized" with data {"error": error}, and no id, so the client's
// Last-Event-ID stays at the last item it received and it resumes from there.
void AppendUnauthorizedEvent(std::string& out, std::string_view error = "token expired");

}  // namespace livefeed
