// JwtVerifier: signed channel tokens, checked with keys and tokens made by the test
// (support/test_tokens.h) and with the examples of RFC 7515.
#include "transport/auth/jwt.h"

#include <doctest/doctest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "support/test_tokens.h"
#include "transport/auth/base64url.h"

namespace livefeed {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::system_clock;
using testing::MakeToken;

// A made-up secret for these tests only.
const std::string kSecret = "test-only-secret-0123456789abcdef";
const Clock::time_point kNow = Clock::time_point(std::chrono::seconds(1'800'000'000));
const std::int64_t kNowSeconds = 1'800'000'000;

JwtVerifier Hs256(std::string audience = "") {
  return JwtVerifier(SignatureKey::Secret(kSecret), std::move(audience));
}

JwtVerifier FromPem(const std::string& pem) {
  std::string error;
  std::optional<SignatureKey> key = SignatureKey::FromPublicKeyPem(pem, &error);
  REQUIRE_MESSAGE(key, error);
  return JwtVerifier(*key, "");
}

// Claims valid for an hour, with `livefeed` permissions, plus `extra`.
json Claims(json permissions, json extra = json::object()) {
  json claims = {{"sub", "user-42"}, {"exp", kNowSeconds + 3600}, {"livefeed", permissions}};
  claims.update(extra);
  return claims;
}

std::string Hs256Token(const json& claims) {
  return MakeToken(testing::Hs256Signer(kSecret), claims);
}

AuthDecision Subscribe(const JwtVerifier& verifier, const std::string& token,
                       std::vector<std::string> channels) {
  return verifier.Check(token, AuthAction::kSubscribe, channels, kNow);
}

TEST_CASE("a token allows the channels its subscribe list names, until exp and the leeway") {
  const AuthDecision decision =
      Subscribe(Hs256(), Hs256Token(Claims({{"subscribe", {"news", "sport"}}})), {"news", "sport"});
  CHECK(decision.allowed());
  CHECK(decision.error.empty());
  REQUIRE(decision.expires);
  CHECK(*decision.expires == kNow + std::chrono::seconds(3600) + kJwtLeeway);
}

TEST_CASE("a channel the token does not name is refused with 403 naming it") {
  const std::string token = Hs256Token(Claims({{"subscribe", {"news"}}}));
  const AuthDecision decision = Subscribe(Hs256(), token, {"news", "user.43", "sport"});
  CHECK(decision.status == 403);
  CHECK(decision.error == "not allowed to subscribe to channel 'user.43'");
  CHECK_FALSE(decision.expires);
}

TEST_CASE("an entry ending in * covers the channels that start with what precedes it") {
  const std::string token = Hs256Token(Claims({{"subscribe", {"room.*"}}}));
  CHECK(Subscribe(Hs256(), token, {"room.1", "room.lobby", "room.a.b"}).allowed());
  CHECK(Subscribe(Hs256(), token, {"room"}).status == 403);
  CHECK(Subscribe(Hs256(), token, {"roomy"}).status == 403);
  CHECK(ChannelMatches("*", "anything"));
  CHECK(ChannelMatches("news", "news"));
  CHECK_FALSE(ChannelMatches("news", "news2"));
  CHECK_FALSE(ChannelMatches("news", "new"));
  CHECK_FALSE(ChannelMatches("", "news"));
  CHECK_FALSE(ChannelMatches("r*m", "room"));  // '*' is a wildcard at the end only.
}

TEST_CASE("publishing needs the channel in the publish list") {
  const std::string reader = Hs256Token(Claims({{"subscribe", {"news"}}}));
  const std::string writer = Hs256Token(Claims({{"subscribe", {"news"}}, {"publish", {"news"}}}));
  const AuthDecision refused = Hs256().Check(reader, AuthAction::kPublish, {"news"}, kNow);
  CHECK(refused.status == 403);
  CHECK(refused.error == "not allowed to publish on channel 'news'");
  CHECK(Hs256().Check(writer, AuthAction::kPublish, {"news"}, kNow).allowed());
  CHECK(Hs256().Check(writer, AuthAction::kPublish, {"sport"}, kNow).status == 403);
}

TEST_CASE("a token without livefeed permissions may do nothing") {
  const std::string token = Hs256Token({{"exp", kNowSeconds + 60}});
  CHECK(Subscribe(Hs256(), token, {"news"}).status == 403);
}

TEST_CASE("an expired token is refused with 401 'token expired' once the leeway has passed") {
  const std::int64_t leeway = kJwtLeeway.count();
  const AuthDecision expired = Subscribe(
      Hs256(), Hs256Token(Claims({{"subscribe", {"news"}}}, {{"exp", kNowSeconds - leeway}})),
      {"news"});
  CHECK(expired.status == 401);
  CHECK(expired.error == "token expired");
  // A second ago by our clock is within the clock difference allowed with the issuer.
  CHECK(Subscribe(Hs256(),
                  Hs256Token(Claims({{"subscribe", {"news"}}}, {{"exp", kNowSeconds - 1}})),
                  {"news"})
            .allowed());
}

TEST_CASE("exp is required and must be a number") {
  json no_exp = Claims({{"subscribe", {"news"}}});
  no_exp.erase("exp");
  CHECK(Subscribe(Hs256(), Hs256Token(no_exp), {"news"}).error == "token has no exp");
  for (const json& bad : {json("2030-01-01"), json(nullptr), json::array()}) {
    CAPTURE(bad.dump());
    const AuthDecision decision =
        Subscribe(Hs256(), Hs256Token(Claims({{"subscribe", {"news"}}}, {{"exp", bad}})), {"news"});
    CHECK(decision.status == 401);
    CHECK(decision.error == "malformed token: exp must be a number of seconds");
  }
}

TEST_CASE("a fractional exp is honoured, and a far one still ends") {
  const AuthDecision fraction = Subscribe(
      Hs256(), Hs256Token(Claims({{"subscribe", {"news"}}}, {{"exp", kNowSeconds + 0.5}})),
      {"news"});
  REQUIRE(fraction.expires);
  CHECK(*fraction.expires == kNow + std::chrono::milliseconds(500) + kJwtLeeway);
  const AuthDecision far =
      Subscribe(Hs256(), Hs256Token(Claims({{"subscribe", {"news"}}}, {{"exp", 1e300}})), {"news"});
  REQUIRE(far.expires);
  CHECK(*far.expires > kNow + std::chrono::hours(24 * 365 * 100));
}

TEST_CASE("nbf and iat in the future are refused beyond the leeway") {
  const std::int64_t leeway = kJwtLeeway.count();
  const auto check = [](const json& extra) {
    return Subscribe(Hs256(), Hs256Token(Claims({{"subscribe", {"news"}}}, extra)), {"news"});
  };
  CHECK(check({{"nbf", kNowSeconds + leeway + 1}}).error == "token not valid yet");
  CHECK(check({{"nbf", kNowSeconds + leeway - 1}}).allowed());
  CHECK(check({{"nbf", kNowSeconds - 100}}).allowed());
  CHECK(check({{"iat", kNowSeconds + leeway + 1}}).error == "token issued in the future");
  CHECK(check({{"iat", kNowSeconds - 100}}).allowed());
  CHECK(check({{"nbf", "soon"}}).error == "malformed token: nbf must be a number of seconds");
}

TEST_CASE("a token signed with another secret, or altered, has a bad signature") {
  const json claims = Claims({{"subscribe", {"news"}}});
  const std::string forged =
      MakeToken(testing::Hs256Signer("another-secret-0123456789abcdefgh"), claims);
  CHECK(Subscribe(Hs256(), forged, {"news"}).status == 401);
  CHECK(Subscribe(Hs256(), forged, {"news"}).error == "bad signature");

  // The payload of a token that allows more, with the signature of one that allows less.
  const std::string narrow = Hs256Token(claims);
  const std::string wide = Hs256Token(Claims({{"subscribe", {"*"}}}));
  const std::string spliced = wide.substr(0, wide.rfind('.')) + narrow.substr(narrow.rfind('.'));
  CHECK(Subscribe(Hs256(), spliced, {"user.43"}).error == "bad signature");

  std::string truncated = narrow;
  truncated.resize(truncated.size() - 4);
  CHECK(Subscribe(Hs256(), truncated, {"news"}).error == "bad signature");
  CHECK(Subscribe(Hs256(), narrow.substr(0, narrow.rfind('.') + 1), {"news"}).error ==
        "bad signature");
}

TEST_CASE("alg none is refused, however it is spelled and whatever the signature") {
  const json claims = Claims({{"subscribe", {"news"}}});
  for (const char* none : {"none", "None", "NONE"}) {
    CAPTURE(none);
    const std::string unsigned_token =
        testing::Base64UrlEncode(json{{"alg", none}, {"typ", "JWT"}}.dump()) + "." +
        testing::Base64UrlEncode(claims.dump()) + ".";
    const AuthDecision decision = Subscribe(Hs256(), unsigned_token, {"news"});
    CHECK(decision.status == 401);
    CHECK(decision.error.find("is not accepted") != std::string::npos);
  }
}

TEST_CASE("an HS256 token signed with the public key is refused by an RS256 key") {
  // The classic forgery: the public key is public, so an HS256 "signature" made with it as
  // the secret proves nothing. The configured key decides the algorithm.
  const std::string pem = testing::Rsa2048().PublicPem();
  const std::string forged = MakeToken(testing::Hs256Signer(pem), Claims({{"subscribe", {"*"}}}));
  const AuthDecision decision = Subscribe(FromPem(pem), forged, {"news"});
  CHECK(decision.status == 401);
  CHECK(decision.error == "token algorithm 'HS256' is not accepted: this server takes RS256");
}

TEST_CASE("an RS256 token is checked with the RSA public key") {
  const json claims = Claims({{"subscribe", {"news"}}});
  const JwtVerifier verifier = FromPem(testing::Rsa2048().PublicPem());
  CHECK(verifier.algorithm() == JwsAlgorithm::kRs256);
  const std::string token = MakeToken(testing::KeySigner(testing::Rsa2048()), claims);
  CHECK(Subscribe(verifier, token, {"news"}).allowed());
  const testing::TestKeyPair other = testing::TestKeyPair::Rsa(2048);
  CHECK(Subscribe(verifier, MakeToken(testing::KeySigner(other), claims), {"news"}).error ==
        "bad signature");
}

TEST_CASE("an ES256 token is checked with the EC P-256 public key") {
  const json claims = Claims({{"subscribe", {"news"}}});
  const JwtVerifier verifier = FromPem(testing::EcP256().PublicPem());
  CHECK(verifier.algorithm() == JwsAlgorithm::kEs256);
  CHECK(Subscribe(verifier, MakeToken(testing::KeySigner(testing::EcP256()), claims), {"news"})
            .allowed());
  const testing::TestKeyPair other = testing::TestKeyPair::Ec("P-256");
  CHECK(Subscribe(verifier, MakeToken(testing::KeySigner(other), claims), {"news"}).error ==
        "bad signature");
  // An RS256 token (a signature of another size) and an HS256 one are refused.
  CHECK(Subscribe(verifier, MakeToken(testing::KeySigner(testing::Rsa2048()), claims), {"news"})
            .status == 401);
  CHECK(Subscribe(verifier, Hs256Token(claims), {"news"}).status == 401);
}

TEST_CASE("ES256 signatures in DER form are refused: JWS carries R || S") {
  const json claims = Claims({{"subscribe", {"news"}}});
  const std::string token = MakeToken(testing::KeySigner(testing::EcP256()), claims);
  const std::string input = token.substr(0, token.rfind('.'));
  const std::string der_token =
      input + "." + testing::Base64UrlEncode(testing::EcP256().SignDer(input));
  CHECK(Subscribe(FromPem(testing::EcP256().PublicPem()), token, {"news"}).allowed());
  CHECK(Subscribe(FromPem(testing::EcP256().PublicPem()), der_token, {"news"}).error ==
        "bad signature");
}

TEST_CASE("with an audience configured, aud must name it") {
  const json permissions = {{"subscribe", {"news"}}};
  const JwtVerifier verifier = Hs256("livefeed.example");
  const auto check = [&](const json& extra) {
    return Subscribe(verifier, Hs256Token(Claims(permissions, extra)), {"news"});
  };
  CHECK(check({{"aud", "livefeed.example"}}).allowed());
  CHECK(check({{"aud", {"app.example", "livefeed.example"}}}).allowed());
  const AuthDecision wrong = check({{"aud", "app.example"}});
  CHECK(wrong.status == 401);
  CHECK(wrong.error == "token audience does not include 'livefeed.example'");
  CHECK(check({{"aud", {"app.example"}}}).status == 401);
  CHECK(check(json::object()).status == 401);
  CHECK(check({{"aud", 42}}).status == 401);
  // Without a configured audience, aud is not looked at.
  CHECK(Subscribe(Hs256(), Hs256Token(Claims(permissions, {{"aud", "app.example"}})), {"news"})
            .allowed());
}

TEST_CASE("a missing token is refused with 401") {
  const AuthDecision decision = Subscribe(Hs256(), "", {"news"});
  CHECK(decision.status == 401);
  CHECK(decision.error.find("token is required") != std::string::npos);
}

TEST_CASE("malformed tokens are refused with 401, never a crash") {
  const std::string good = Hs256Token(Claims({{"subscribe", {"news"}}}));
  const std::string signature = good.substr(good.rfind('.'));
  const auto header_of = [](const std::string& text) { return testing::Base64UrlEncode(text); };
  const std::vector<std::string> bad = {
      "abc",
      "a.b",
      good + ".extra.parts",
      "!!!." + good.substr(good.find('.') + 1),
      header_of("not json") + good.substr(good.find('.')),
      header_of("[\"HS256\"]") + good.substr(good.find('.')),
      header_of("{\"typ\":\"JWT\"}") + good.substr(good.find('.')),
      header_of("{\"alg\":7}") + good.substr(good.find('.')),
      good + "=",
      std::string(kMaxTokenLength + 1, 'a'),
      std::string("\0.\0.\0", 5),
  };
  for (const std::string& token : bad) {
    CAPTURE(token.substr(0, 80));
    const AuthDecision decision = Subscribe(Hs256(), token, {"news"});
    CHECK(decision.status == 401);
    CHECK_FALSE(decision.error.empty());
  }
}

TEST_CASE("a payload or permissions of the wrong shape are refused with 401") {
  const auto sign_payload = [](const std::string& payload) {
    const std::string input =
        testing::Base64UrlEncode(R"({"alg":"HS256"})") + "." + testing::Base64UrlEncode(payload);
    return input + "." + testing::Base64UrlEncode(testing::Hs256Signer(kSecret).sign(input));
  };
  CHECK(Subscribe(Hs256(), sign_payload("[1,2]"), {"news"}).error ==
        "malformed token: the payload is not base64url JSON");
  CHECK(Subscribe(Hs256(), sign_payload("{\"exp\":"), {"news"}).status == 401);
  for (const json& permissions :
       {json("news"), json({{"subscribe", "news"}}), json({{"subscribe", {"news", 7}}})}) {
    CAPTURE(permissions.dump());
    const AuthDecision decision = Subscribe(Hs256(), Hs256Token(Claims(permissions)), {"news"});
    CHECK(decision.status == 401);
    CHECK(decision.error.find("malformed token: livefeed") == 0);
  }
}

TEST_CASE("a header with crit extensions is refused") {
  const std::string token =
      MakeToken(testing::Hs256Signer(kSecret), Claims({{"subscribe", {"news"}}}),
                {{"alg", "HS256"}, {"crit", {"exp"}}, {"exp", 1}});
  CHECK(Subscribe(Hs256(), token, {"news"}).status == 401);
}

// An example token of RFC 7515 (exp 1300819380) is accepted as signed, and refused with one
// character of its signature changed. The examples grant no livefeed channel: 403.
void CheckRfc7515Example(const JwtVerifier& verifier, const std::string& token) {
  const Clock::time_point before_exp = Clock::time_point(std::chrono::seconds(1300819300));
  CHECK(verifier.Check(token, AuthAction::kSubscribe, {"news"}, before_exp).status == 403);
  std::string altered = token;
  char& c = altered[altered.size() - 5];
  c = c == 'A' ? 'B' : 'A';
  CHECK(verifier.Check(altered, AuthAction::kSubscribe, {"news"}, before_exp).error ==
        "bad signature");
}

const char kRfc7515Payload[] =
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0"
    "cnVlfQ";

TEST_CASE("RFC 7515 A.1: the HS256 example's signature is accepted") {
  const std::optional<std::string> key = DecodeBase64Url(
      "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow");
  REQUIRE(key);
  CheckRfc7515Example(JwtVerifier(SignatureKey::Secret(*key), ""),
                      std::string("eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.") + kRfc7515Payload +
                          ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
}

// The P-256 public key of RFC 7515 A.3 (its JWK x and y) as a SubjectPublicKeyInfo PEM.
std::string Rfc7515EcPem() {
  const std::string prefix(  // DER: SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING 04..
      "\x30\x59\x30\x13\x06\x07\x2a\x86\x48\xce\x3d\x02\x01\x06\x08\x2a\x86\x48\xce\x3d\x03\x01"
      "\x07\x03\x42\x00\x04",
      27);
  const std::string der = prefix + *DecodeBase64Url("f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU") +
                          *DecodeBase64Url("x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0");
  std::string base64 = testing::Base64UrlEncode(der);
  for (char& c : base64) c = c == '-' ? '+' : c == '_' ? '/' : c;
  while (base64.size() % 4) base64 += '=';
  std::string pem = "-----BEGIN PUBLIC KEY-----\n";
  for (std::size_t i = 0; i < base64.size(); i += 64) pem += base64.substr(i, 64) + "\n";
  return pem + "-----END PUBLIC KEY-----\n";
}

TEST_CASE("RFC 7515 A.3: the ES256 example's R || S signature is accepted") {
  CheckRfc7515Example(FromPem(Rfc7515EcPem()),
                      std::string("eyJhbGciOiJFUzI1NiJ9.") + kRfc7515Payload +
                          ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfK"
                          "TUJqPP3-Kg6NU1Q");
}

TEST_CASE("one verifier checks tokens from many threads at once") {
  const JwtVerifier verifier = FromPem(testing::EcP256().PublicPem());
  const std::string token =
      MakeToken(testing::KeySigner(testing::EcP256()), Claims({{"subscribe", {"news"}}}));
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) allowed += Subscribe(verifier, token, {"news"}).allowed();
    });
  }
  for (std::thread& thread : threads) thread.join();
  CHECK(allowed == 200);
}

}  // namespace
}  // namespace livefeed
