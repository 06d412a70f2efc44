#include "http/authorizer.h"

#include <algorithm>

#include "core/ascii.h"
#include "http/auth_hook.h"
#include "transport/auth/credentials.h"
#include "transport/auth/jwt.h"

namespace livefeed {
namespace {

using SteadyClock = std::chrono::steady_clock;
using SystemClock = std::chrono::system_clock;

// Beyond this an expiry is as good as never (and would not fit the steady clock).
constexpr auto kFarFuture = std::chrono::hours(24 * 365 * 10);

bool IsCookieField(std::string_view name) { return EqualsIgnoreCase(name, "cookie"); }

// A request's credentials: its Authorization header, its Cookie headers (joined), and the
// ?token= given.
Credentials CredentialsOf(const RequestHead& head, std::string_view query_token) {
  Credentials credentials;
  credentials.authorization = std::string(head.Get(KnownField::kAuthorization).value_or(""));
  // Cookies may come in several fields (HTTP/2 splits them, RFC 9113 8.2.3, and not
  // every proxy joins them again): together they are one list.
  for (std::size_t i = 0; i < head.field_count(); ++i) {
    const RequestHead::Field field = head.field(i);
    if (!IsCookieField(field.name)) continue;
    if (!credentials.cookie.empty()) credentials.cookie += "; ";
    credentials.cookie.append(field.value);
  }
  credentials.query_token = std::string(query_token);
  return credentials;
}

}  // namespace

Authorizer::Authorizer(ServerContext& context, const LiveSettingsView& live)
    : context_(context), live_(live) {}

std::optional<AuthDecision> Authorizer::Decide(const Question& question,
                                               std::function<void(AuthDecision)> later) const {
  const LiveSettings& live = *live_;
  const HttpOptions& options = context_.options;
  Credentials credentials = CredentialsOf(question.head, question.query_token);
  if (live.jwt) {
    return live.jwt->Check(FindToken(credentials, live.jwt_cookie, question.action),
                           question.action, question.channels, SystemClock::now());
  }
  if (!options.auth_hook) return AllowAuth();
  AuthQuestion asked{.action = question.action,
                     .channels = question.channels,
                     .credentials = std::move(credentials),
                     .client = question.client};
  // A client re-polling with the same credentials is answered from the cache, on the loop.
  if (std::optional<AuthDecision> cached = options.auth_hook->Cached(asked, SteadyClock::now())) {
    return cached;
  }
  auto ask = [hook = options.auth_hook, asked = std::move(asked), later = std::move(later)] {
    later(hook->Authorize(asked, SteadyClock::now()));
  };
  if (!context_.pool.Submit(std::move(ask))) {
    // Every worker is busy and the queue is full: retryable, like a hook that failed.
    return RefuseAuth(503, "authorization unavailable: too many requests waiting for it");
  }
  return std::nullopt;
}

std::optional<AuthDecision> Authorizer::CheckPublishHead(const RequestHead& head) const {
  const LiveSettings& live = *live_;
  if (!live.jwt) return std::nullopt;
  // A publish's token is read from its Authorization header alone (see credentials.h).
  const std::string token = FindToken(CredentialsOf(head, {}), {}, AuthAction::kPublish);
  if (!token.empty()) return std::nullopt;
  return live.jwt->Check(token, AuthAction::kPublish, {}, SystemClock::now());
}

std::optional<SteadyClock::time_point> Authorizer::SteadyExpiry(const AuthDecision& decision) {
  if (!decision.expires) return std::nullopt;
  const auto left = *decision.expires - SystemClock::now();
  if (left > kFarFuture) return std::nullopt;
  // Measured from now on the loop's clock: a system clock that is stepped later moves
  // nothing, and a client that comes back a hair early is held only until then.
  return SteadyClock::now() + std::chrono::duration_cast<SteadyClock::duration>(
                                  std::max(left, SystemClock::duration::zero()));
}

}  // namespace livefeed
