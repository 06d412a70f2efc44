// Whether a subscribe or a publish may go on, by the way the server is configured:
//   - signed tokens (--jwt-*): the token is checked on the event loop, CPU only;
//   - the application's hook (--auth-url): a cached answer is used on the loop; otherwise
//     the question goes to a worker, which asks the application (blocking, up to
//     --auth-timeout) and hands the decision back; the loop never waits for it;
//   - neither: allowed (the shared tokens, if any, were checked before).
// Holds what the context shares (the hook, the worker pool), safe for concurrent use,
// and its loop's view of the settings (the verifier): used on that loop's thread.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/live_settings.h"
#include "http/request_parser.h"
#include "http/server_context.h"
#include "transport/auth/auth_decision.h"

namespace livefeed {

class Authorizer {
 public:
  // `live`: the loop's view of the settings (the signed tokens' verifier).
  Authorizer(ServerContext& context, const LiveSettingsView& live);

  // Signed tokens or the hook decide; otherwise every request is allowed here.
  bool enabled() const { return live_->jwt || context_.options.auth_hook; }

  // What is being asked, and by whom.
  struct Question {
    AuthAction action = AuthAction::kSubscribe;
    const std::vector<std::string>& channels;
    const RequestHead& head;
    std::string_view query_token;  // ?token=, for a subscribe.
    const std::string& client;     // As the access log names the client.
  };

  // The decision when it can be made now (a token, a cached answer, a refusal). Otherwise
  // nullopt: the application is being asked on a worker, which calls `later` with the
  // decision (on the worker's thread).
  std::optional<AuthDecision> Decide(const Question& question,
                                     std::function<void(AuthDecision)> later) const;

  // Before a publish's body is read: with signed tokens, a publish that presents none is
  // refused at once (401) rather than after reading its body.
  std::optional<AuthDecision> CheckPublishHead(const RequestHead& head) const;

  // When a stream or a held poll allowed by `decision` must end, on the loop's clock:
  // the token's expiry, or nullopt when nothing ends it.
  static std::optional<std::chrono::steady_clock::time_point> SteadyExpiry(
      const AuthDecision& decision);

 private:
  ServerContext& context_;
  const LiveSettingsView& live_;
};

}  // namespace livefeed
