#include "transport/auth/jwt.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <optional>

#include "transport/auth/base64url.h"

namespace livefeed {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::system_clock;

// Past this (the year 2223) an exp is as good as never, and a time_point cannot hold a much
// later one.
constexpr double kLatestNumericDate = 8e9;

// A refusal, or nothing when the step passed.
using Refusal = std::optional<AuthDecision>;

AuthDecision Unauthorized(std::string why) { return RefuseAuth(401, std::move(why)); }

// Quotes at most 40 bytes of token-supplied text back to the client.
std::string Quote(std::string_view text) {
  std::string quoted(1, '\'');
  quoted.append(text.substr(0, 40));
  quoted.append(text.size() > 40 ? "...'" : "'");
  return quoted;
}

// A JSON object encoded as one part of the token, or nullopt.
std::optional<json> DecodeObject(std::string_view part) {
  std::optional<std::string> bytes = DecodeBase64Url(part);
  if (!bytes) return std::nullopt;
  json value = json::parse(*bytes, nullptr, /*allow_exceptions=*/false);
  if (!value.is_object()) return std::nullopt;
  return value;
}

Refusal CheckHeader(std::string_view part, JwsAlgorithm expected) {
  std::optional<json> header = DecodeObject(part);
  if (!header) return Unauthorized("malformed token: the header is not base64url JSON");
  const auto alg = header->find("alg");
  if (alg == header->end() || !alg->is_string()) {
    return Unauthorized("malformed token: the header has no alg");
  }
  // RFC 7515 4.1.11: extensions marked critical that we do not implement must be refused.
  if (header->contains("crit")) return Unauthorized("token header has unsupported 'crit'");
  const std::string& name = alg->get_ref<const std::string&>();
  if (name != JwsAlgorithmName(expected)) {
    // Covers `none` and the HS256-with-the-public-key forgery against an RS256 server.
    return Unauthorized("token algorithm " + Quote(name) + " is not accepted: this server takes " +
                        std::string(JwsAlgorithmName(expected)));
  }
  return std::nullopt;
}

// A NumericDate claim (RFC 7519 2: seconds since the epoch, may have a fraction).
struct DateClaim {
  bool present = false;
  bool valid = true;
  double seconds = 0;
};
DateClaim ReadDate(const json& payload, const char* name) {
  const auto it = payload.find(name);
  if (it == payload.end()) return {};
  if (!it->is_number()) return {.present = true, .valid = false, .seconds = 0};
  const double seconds = it->get<double>();
  return {.present = true, .valid = std::isfinite(seconds), .seconds = seconds};
}

// The checks of step 3; on success `*expires` is when the token stops being accepted.
Refusal CheckTimes(const json& payload, Clock::time_point now, Clock::time_point* expires) {
  const double now_s = std::chrono::duration<double>(now.time_since_epoch()).count();
  const double leeway = static_cast<double>(kJwtLeeway.count());
  const DateClaim exp = ReadDate(payload, "exp");
  const DateClaim nbf = ReadDate(payload, "nbf");
  const DateClaim iat = ReadDate(payload, "iat");
  for (const auto& [claim, name] : {std::pair{&exp, "exp"}, {&nbf, "nbf"}, {&iat, "iat"}}) {
    if (!claim->valid)
      return Unauthorized(std::string("malformed token: ") + name + " must be a number of seconds");
  }
  // A token without an end would be valid forever, even after its holder lost access.
  if (!exp.present) return Unauthorized("token has no exp");
  if (now_s >= exp.seconds + leeway) return Unauthorized("token expired");
  if (nbf.present && now_s < nbf.seconds - leeway) return Unauthorized("token not valid yet");
  if (iat.present && now_s < iat.seconds - leeway) {
    return Unauthorized("token issued in the future");
  }
  const double end = std::min(exp.seconds + leeway, kLatestNumericDate);
  *expires = Clock::time_point(
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(end)));
  return std::nullopt;
}

Refusal CheckAudience(const json& payload, const std::string& audience) {
  if (audience.empty()) return std::nullopt;
  const auto aud = payload.find("aud");
  bool named = false;
  if (aud != payload.end() && aud->is_string()) named = *aud == audience;
  if (aud != payload.end() && aud->is_array()) {
    named = std::find(aud->begin(), aud->end(), json(audience)) != aud->end();
  }
  if (!named) return Unauthorized("token audience does not include " + Quote(audience));
  return std::nullopt;
}

// Step 5: the first channel no entry of livefeed.<action> covers gets the 403.
Refusal CheckChannels(const json& payload, AuthAction action,
                      const std::vector<std::string>& channels) {
  const std::string action_name(AuthActionName(action));
  static const json kNone = json::array();
  const json* entries = &kNone;
  if (const auto claim = payload.find("livefeed"); claim != payload.end()) {
    if (!claim->is_object()) return Unauthorized("malformed token: livefeed must be an object");
    if (const auto list = claim->find(action_name); list != claim->end()) entries = &*list;
  }
  if (!entries->is_array() || !std::all_of(entries->begin(), entries->end(),
                                           [](const json& entry) { return entry.is_string(); })) {
    return Unauthorized("malformed token: livefeed." + action_name +
                        " must be a list of channel names");
  }
  for (const std::string& channel : channels) {
    const bool covered = std::any_of(entries->begin(), entries->end(), [&](const json& entry) {
      return ChannelMatches(entry.get_ref<const std::string&>(), channel);
    });
    const char* preposition = action == AuthAction::kPublish ? " on" : " to";
    if (!covered) {
      return RefuseAuth(
          403, "not allowed to " + action_name + preposition + " channel '" + channel + "'");
    }
  }
  return std::nullopt;
}

}  // namespace

bool ChannelMatches(std::string_view entry, std::string_view channel) {
  if (!entry.empty() && entry.back() == '*') {
    return channel.substr(0, entry.size() - 1) == entry.substr(0, entry.size() - 1);
  }
  return entry == channel;
}

JwtVerifier::JwtVerifier(SignatureKey key, std::string audience)
    : key_(std::move(key)), audience_(std::move(audience)) {}

AuthDecision JwtVerifier::Check(std::string_view token, AuthAction action,
                                const std::vector<std::string>& channels,
                                Clock::time_point now) const {
  if (token.empty()) return Unauthorized("a token is required: send Authorization: Bearer <token>");
  if (token.size() > kMaxTokenLength) {
    return Unauthorized("malformed token: longer than " + std::to_string(kMaxTokenLength) +
                        " bytes");
  }
  const std::size_t dot1 = token.find('.');
  const std::size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  // Exactly three parts: an encrypted token (JWE) has five and is not ours to read.
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return Unauthorized("malformed token: a token has three parts separated by dots");
  }
  if (Refusal refusal = CheckHeader(token.substr(0, dot1), key_.algorithm())) return *refusal;
  const std::optional<std::string> signature = DecodeBase64Url(token.substr(dot2 + 1));
  if (!signature || !key_.Verify(token.substr(0, dot2), *signature)) {
    return Unauthorized("bad signature");
  }
  const std::optional<json> payload = DecodeObject(token.substr(dot1 + 1, dot2 - dot1 - 1));
  if (!payload) return Unauthorized("malformed token: the payload is not base64url JSON");
  Clock::time_point expires;
  if (Refusal refusal = CheckTimes(*payload, now, &expires)) return *refusal;
  if (Refusal refusal = CheckAudience(*payload, audience_)) return *refusal;
  if (Refusal refusal = CheckChannels(*payload, action, channels)) return *refusal;
  return AllowAuth(expires);
}

}  // namespace livefeed
