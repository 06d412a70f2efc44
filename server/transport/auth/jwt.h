// Signed channel tokens: a JWT (RFC 7519) in JWS compact form (RFC 7515) says which
// channels its bearer may follow and publish on, as
//   "livefeed": {"subscribe": ["news", "room.*"], "publish": ["news"]}
// where each entry is a channel name or a prefix ending in '*'. Checking one:
//   1. The three base64url parts are decoded. The header's `alg` must be the algorithm of
//      the configured key: `none`, or any other, is refused. The configuration decides,
//      never the token.
//   2. The signature is checked before anything in the payload is believed.
//   3. `exp` is required; `exp`, `nbf` and `iat` are compared with `now`, allowing
//      kJwtLeeway of clock difference between the token's issuer and this server.
//   4. With an audience configured, `aud` (a string or a list) must name it.
//   5. Every channel of the request must match an entry of the action's list; the first
//      that does not is named in the 403.
// Immutable after construction; safe for concurrent use.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "transport/auth/auth_decision.h"
#include "transport/auth/crypto.h"

namespace livefeed {

// Clock difference tolerated between the token's issuer and this server, both ways: a
// token is accepted until exp + leeway, and from nbf - leeway and iat - leeway.
inline constexpr std::chrono::seconds kJwtLeeway{30};

// Longer tokens are refused unread (a browser keeps cookies under 4 KiB).
inline constexpr std::size_t kMaxTokenLength = 8192;

class JwtVerifier {
 public:
  // `audience` empty: `aud` is not checked.
  JwtVerifier(SignatureKey key, std::string audience);

  // Whether `token` lets its bearer `action` every channel of `channels` at `now`. An
  // empty token is refused with 401 (none was sent). Allowed decisions carry `expires`,
  // the moment the token stops being accepted (exp + leeway), when a stream must end.
  AuthDecision Check(std::string_view token, AuthAction action,
                     const std::vector<std::string>& channels,
                     std::chrono::system_clock::time_point now) const;

  JwsAlgorithm algorithm() const { return key_.algorithm(); }

 private:
  SignatureKey key_;
  std::string audience_;
};

// Whether a permission entry covers `channel`: the same name, or, for an entry ending in
// '*', a name that starts with what comes before it ("room.*" covers "room.1", not "room").
bool ChannelMatches(std::string_view entry, std::string_view channel);

}  // namespace livefeed
