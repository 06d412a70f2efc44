// RefusalReply and AppendUnauthorizedEvent: how a refusal reaches the client.
#include "transport/auth/auth_decision.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

namespace livefeed {
namespace {

std::string HeaderOf(const Reply& reply, const std::string& name) {
  for (const auto& [key, value] : reply.headers) {
    if (key == name) return value;
  }
  return "";
}

TEST_CASE("a 401 asks for a Bearer token and a 503 says when to retry") {
  const Reply unauthorized = RefusalReply(RefuseAuth(401, "token expired"));
  CHECK(unauthorized.status == 401);
  CHECK(nlohmann::json::parse(unauthorized.body) == nlohmann::json{{"error", "token expired"}});
  CHECK(HeaderOf(unauthorized, "WWW-Authenticate") == "Bearer realm=\"livefeed\"");
  CHECK(HeaderOf(unauthorized, "Retry-After").empty());

  const Reply unavailable = RefusalReply(RefuseAuth(503, "authorization unavailable"));
  CHECK(unavailable.status == 503);
  CHECK(HeaderOf(unavailable, "Retry-After") == std::to_string(kAuthRetryAfterSeconds));
  CHECK(HeaderOf(unavailable, "WWW-Authenticate").empty());

  const Reply forbidden = RefusalReply(RefuseAuth(403, "not allowed to subscribe to channel 'x'"));
  CHECK(forbidden.status == 403);
  CHECK(forbidden.headers.empty());
}

TEST_CASE("a stream whose token expired ends with an unauthorized event without an id") {
  std::string out;
  AppendUnauthorizedEvent(out);
  CHECK(out == "event: unauthorized\ndata: {\"error\":\"token expired\"}\n\n");
}

TEST_CASE("only a 200 decision is allowed") {
  CHECK(AllowAuth().allowed());
  CHECK_FALSE(RefuseAuth(401, "x").allowed());
  CHECK_FALSE(RefuseAuth(503, "x").allowed());
  CHECK(AuthActionName(AuthAction::kSubscribe) == "subscribe");
  CHECK(AuthActionName(AuthAction::kPublish) == "publish");
}

}  // namespace
}  // namespace livefeed
