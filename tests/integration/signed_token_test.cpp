// Signed channel tokens (--jwt-*) against the real binary: tokens made and signed by the
// test (support/test_tokens.h, OpenSSL), presented as a user's client would (Bearer
// header, cookie, ?token=), and forged as an attacker would.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "support/feed_helpers.h"
#include "support/sse_client.h"
#include "support/test_tokens.h"

using namespace livefeed::testing;
using nlohmann::json;
using std::chrono::seconds;

namespace {

const std::string kSecret = "a test secret of at least 32 bytes, for HS256";

double Now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// User 42's claims: follows `subscribe`, publishes on `publish`, until `life` seconds from
// now (negative: in the past).
json Claims(json subscribe, json publish = json::array(), double life = 3600) {
  return {{"sub", "user-42"},
          {"exp", Now() + life},
          {"livefeed", {{"subscribe", std::move(subscribe)}, {"publish", std::move(publish)}}}};
}

std::string Token(const json& claims, const std::string& secret = kSecret) {
  return MakeToken(Hs256Signer(secret), claims);
}

std::string Bearer(const std::string& token) { return "Authorization: Bearer " + token + "\r\n"; }

HttpResponse Poll(int port, const std::string& query, const std::string& headers = "") {
  return Send(port, "GET", "/real_time_feed?" + query, headers);
}

HttpResponse PublishAs(int port, const std::string& token, const std::string& body) {
  return Send(port, "POST", "/send_feed_item", Bearer(token), body, "application/json");
}

// Publishes {"data": data} on `channel` with a token that may publish anywhere.
std::uint64_t PublishOn(int port, const std::string& channel, const std::string& data = "1") {
  HttpResponse response = PublishAs(port, Token(Claims(json::array(), {"*"})),
                                    "{\"data\":" + data + ",\"channel\":\"" + channel + "\"}");
  REQUIRE_MESSAGE(response.status == 200, response.body);
  return response.Json()["id"].get<std::uint64_t>();
}

// Checks the refusal a client gets: the status, the error, and the scheme on a 401.
void CheckRefused(const HttpResponse& response, int status, const std::string& error) {
  CHECK(response.status == status);
  CHECK(response.Json()["error"] == error);
  if (status == 401) CHECK(response.Header("www-authenticate").find("Bearer") == 0);
}

// A file in a temporary directory of its own, removed with it.
class TempFile {
 public:
  explicit TempFile(const std::string& text) {
    char pattern[] = "/tmp/livefeed-token-test-XXXXXX";
    REQUIRE(::mkdtemp(pattern));
    dir_ = pattern;
    std::ofstream(path()) << text;
  }
  ~TempFile() {
    ::unlink(path().c_str());
    ::rmdir(dir_.c_str());
  }
  std::string path() const { return dir_ + "/key.pem"; }

 private:
  std::string dir_;
};

}  // namespace

TEST_CASE(
    "a signed token lets its bearer follow its channels, and another channel is a 403 naming it") {
  ServerProcess server({"--jwt-secret", kSecret, "--log-level", "info"});
  const std::uint64_t id = PublishOn(server.port(), "news");
  const std::string token = Token(Claims({"news", "user.42"}));

  HttpResponse allowed = Poll(server.port(), "since=0&channel=news,user.42", Bearer(token));
  CHECK(allowed.status == 200);
  CHECK(allowed.Json()["items"][0]["id"] == id);
  CheckRefused(Poll(server.port(), "since=0&channel=user.43", Bearer(token)), 403,
               "not allowed to subscribe to channel 'user.43'");
  // The first channel refused is named, whatever follows it.
  CheckRefused(Poll(server.port(), "since=0&channel=news,user.44,user.43", Bearer(token)), 403,
               "not allowed to subscribe to channel 'user.44'");
  CheckRefused(Poll(server.port(), "since=0"), 401,
               "a token is required: send Authorization: Bearer <token>");
  CHECK(server.Log().find(token) == std::string::npos);
}

TEST_CASE("an entry ending in * allows the channels it prefixes, and only those") {
  ServerProcess server({"--jwt-secret", kSecret});
  const std::string token = Token(Claims({"room.*"}));
  CHECK(Poll(server.port(), "since=0&timeout=1&channel=room.1,room.lobby", Bearer(token)).status ==
        200);
  CheckRefused(Poll(server.port(), "since=0&channel=room", Bearer(token)), 403,
               "not allowed to subscribe to channel 'room'");
  CheckRefused(Poll(server.port(), "since=0&channel=roomy", Bearer(token)), 403,
               "not allowed to subscribe to channel 'roomy'");
}

TEST_CASE("an expired token, a bad signature and alg none are refused with 401") {
  ServerProcess server({"--jwt-secret", kSecret});
  const json claims = Claims({"news"});
  CheckRefused(
      Poll(server.port(), "since=0&channel=news", Bearer(Token(Claims({"news"}, {}, -60)))), 401,
      "token expired");
  CheckRefused(Poll(server.port(), "since=0&channel=news",
                    Bearer(Token(claims, "another secret, also 32 bytes long or more"))),
               401, "bad signature");
  // A real token whose channels were edited: the signature no longer matches.
  const std::string token = Token(claims);
  const std::string edited = Token(Claims({"*"}));
  const std::string forged = edited.substr(0, edited.rfind('.')) + token.substr(token.rfind('.'));
  CheckRefused(Poll(server.port(), "since=0&channel=secret", Bearer(forged)), 401, "bad signature");
  // Unsigned: the configuration decides the algorithm, never the token.
  const std::string unsigned_token =
      MakeToken({"none", [](std::string_view) { return std::string(); }}, claims,
                {{"alg", "none"}, {"typ", "JWT"}});
  CheckRefused(Poll(server.port(), "since=0&channel=news", Bearer(unsigned_token)), 401,
               "token algorithm 'none' is not accepted: this server takes HS256");
}

TEST_CASE("with an RS256 key, an HS256 token made with the public key as its secret is refused") {
  const TempFile key(Rsa2048().PublicPem());
  ServerProcess server({"--jwt-public-key-file", key.path()});
  const json claims = Claims({"news"});
  CHECK(Poll(server.port(), "since=0&timeout=1&channel=news",
             Bearer(MakeToken(KeySigner(Rsa2048()), claims)))
            .status == 200);
  // The classic forgery: the public key is public, so anyone can make this signature.
  CheckRefused(Poll(server.port(), "since=0&channel=news",
                    Bearer(MakeToken(Hs256Signer(Rsa2048().PublicPem()), claims))),
               401, "token algorithm 'HS256' is not accepted: this server takes RS256");
}

TEST_CASE("with an ES256 key, ES256 tokens are accepted") {
  const TempFile key(EcP256().PublicPem());
  ServerProcess server({"--jwt-public-key-file", key.path()});
  CHECK(Poll(server.port(), "since=0&timeout=1&channel=news",
             Bearer(MakeToken(KeySigner(EcP256()), Claims({"news"}))))
            .status == 200);
}

TEST_CASE("with --jwt-audience, a token must name that audience") {
  ServerProcess server({"--jwt-secret", kSecret, "--jwt-audience", "feed.example"});
  json claims = Claims({"news"});
  CheckRefused(Poll(server.port(), "since=0&channel=news", Bearer(Token(claims))), 401,
               "token audience does not include 'feed.example'");
  claims["aud"] = "mail.example";
  CheckRefused(Poll(server.port(), "since=0&channel=news", Bearer(Token(claims))), 401,
               "token audience does not include 'feed.example'");
  claims["aud"] = json{"mail.example", "feed.example"};
  CHECK(Poll(server.port(), "since=0&timeout=1&channel=news", Bearer(Token(claims))).status == 200);
}

TEST_CASE("a subscriber's token may come from the --jwt-cookie cookie or from ?token=") {
  ServerProcess server(
      {"--jwt-secret", kSecret, "--jwt-cookie", "lf_token", "--log-level", "info"});
  const std::uint64_t id = PublishOn(server.port(), "news");
  const std::string token = Token(Claims({"news"}));
  const std::string cookie = "Cookie: theme=dark; lf_token=" + token + "\r\n";
  CHECK(Poll(server.port(), "since=0&channel=news", cookie).status == 200);
  CHECK(Poll(server.port(), "since=0&channel=news&token=" + token).status == 200);
  // Cookies split over several fields, as HTTP/2 sends them, are one list.
  CHECK(Poll(server.port(), "since=0&channel=news",
             "Cookie: theme=dark\r\nCookie: lf_token=" + token + "\r\n")
            .status == 200);
  CheckRefused(Poll(server.port(), "since=0&channel=sport", cookie), 403,
               "not allowed to subscribe to channel 'sport'");

  // EventSource sends cookies (same origin) or the token in the URL, never a header.
  SseClient by_cookie(server.port(), "/real_time_feed/stream?since=0&channel=news", "", 0, cookie);
  REQUIRE(by_cookie.head().status == 200);
  auto event = by_cookie.NextEvent();
  REQUIRE(event);
  CHECK(event->id == std::to_string(id));
  SseClient by_query(server.port(), "/real_time_feed/stream?since=0&channel=news&token=" + token);
  REQUIRE(by_query.head().status == 200);
  event = by_query.NextEvent();
  REQUIRE(event);
  CHECK(event->id == std::to_string(id));
  // The token in the URL is not written to the log.
  CHECK(server.Log().find("token=***") != std::string::npos);
  CHECK(server.Log().find(token) == std::string::npos);
}

TEST_CASE("publishing needs every channel of the publish in the token's publish list") {
  ServerProcess server({"--jwt-secret", kSecret, "--jwt-cookie", "lf_token"});
  const std::string token = Token(Claims({"news", "user.42"}, {"user.42"}));
  CHECK(PublishAs(server.port(), token, R"({"data":1,"channel":"user.42"})").status == 200);
  CheckRefused(PublishAs(server.port(), token, R"({"data":2,"channel":"news"})"), 403,
               "not allowed to publish on channel 'news'");
  CheckRefused(PublishAs(server.port(), token,
                         R"([{"data":3,"channel":"user.42"},{"data":4,"channel":"news"}])"),
               403, "not allowed to publish on channel 'news'");
  // A subscriber's token publishes nothing.
  CheckRefused(
      PublishAs(server.port(), Token(Claims({"user.42"})), R"({"data":5,"channel":"user.42"})"),
      403, "not allowed to publish on channel 'user.42'");
  // A publish reads its token from the header alone: a cookie is what a cross-site form
  // would bring along, and a URL ends up in logs.
  const std::string body = R"({"data":6,"channel":"user.42"})";
  CHECK(Send(server.port(), "POST", "/send_feed_item", "Cookie: lf_token=" + token + "\r\n", body,
             "application/json")
            .status == 401);
  CHECK(Send(server.port(), "POST", "/send_feed_item?token=" + token, "", body, "application/json")
            .status == 401);
  // Only the allowed publish was kept, the refused batch not even in part.
  HttpResponse items = Poll(server.port(), "since=0&channel=news,user.42", Bearer(token));
  REQUIRE(items.Json()["items"].size() == 1);
  CHECK(items.Json()["items"][0]["data"] == 1);
}

TEST_CASE("refusals carry the CORS fields of the request, so a page can read them") {
  ServerProcess server({"--jwt-secret", kSecret, "--cors-origin", "https://app.example"});
  const std::string origin = "Origin: https://app.example\r\n";
  HttpResponse unauthorized = Poll(server.port(), "since=0&channel=news", origin);
  CHECK(unauthorized.status == 401);
  CHECK(unauthorized.Header("access-control-allow-origin") == "https://app.example");
  HttpResponse forbidden =
      Poll(server.port(), "since=0&channel=sport", origin + Bearer(Token(Claims({"news"}))));
  CHECK(forbidden.status == 403);
  CHECK(forbidden.Header("access-control-allow-origin") == "https://app.example");
  HttpResponse publish =
      Send(server.port(), "POST", "/send_feed_item", origin, "{\"data\":1}", "application/json");
  CHECK(publish.status == 401);
  CHECK(publish.Header("access-control-allow-origin") == "https://app.example");
}

TEST_CASE(
    "a stream ends with `unauthorized` when its token expires, and a fresh token resumes it") {
  ServerProcess server({"--jwt-secret", kSecret});
  const std::uint64_t first = PublishOn(server.port(), "news", "1");
  // exp 28 s ago: with the 30 s allowed for clocks that differ, 2 s of life are left.
  const std::string short_lived = Token(Claims({"news"}, {}, -28));
  SseClient stream(server.port(),
                   "/real_time_feed/stream?since=0&channel=news&token=" + short_lived);
  REQUIRE(stream.head().status == 200);
  auto event = stream.NextEvent();
  REQUIRE(event);
  CHECK(event->id == std::to_string(first));
  event = stream.NextEvent(seconds(30));
  REQUIRE(event);
  CHECK(event->event == "unauthorized");
  CHECK(event->Json() == json{{"error", "token expired"}});
  CHECK(event->id.empty());  // Last-Event-ID stays at the last item.
  CHECK_FALSE(stream.NextEvent(seconds(10)));
  CHECK(stream.ended());

  const std::uint64_t missed = PublishOn(server.port(), "news", "2");
  CheckRefused(
      Send(server.port(), "GET", "/real_time_feed/stream?channel=news&token=" + short_lived,
           "Last-Event-ID: " + std::to_string(first) + "\r\n"),
      401, "token expired");
  const std::string fresh = Token(Claims({"news"}));
  SseClient resumed(server.port(), "/real_time_feed/stream?channel=news&token=" + fresh,
                    std::to_string(first));
  REQUIRE(resumed.head().status == 200);
  event = resumed.NextEvent();
  REQUIRE(event);
  CHECK(event->id == std::to_string(missed));
  const std::uint64_t live = PublishOn(server.port(), "news", "3");
  event = resumed.NextEvent();
  REQUIRE(event);
  CHECK(event->id == std::to_string(live));
}

TEST_CASE("a poll is held no longer than its token lasts, and the next poll is refused") {
  ServerProcess server({"--jwt-secret", kSecret, "--poll-timeout", "25"});
  const std::uint64_t start = PublishOn(server.port(), "news");
  const std::string short_lived = Token(Claims({"news"}, {}, -28));  // 2 s left, as above.
  HttpConnection poll(server.port());
  poll.Send("GET", "/real_time_feed?timeout=25&channel=news&since=" + std::to_string(start), "", "",
            Bearer(short_lived));
  // Answered when the token expires, well before the poll's own 25 s.
  HttpResponse answer = poll.Read(seconds(15));
  REQUIRE(answer.status == 200);
  CHECK(answer.Json() == json{{"items", json::array()}, {"cursor", start}});
  poll.Send("GET", "/real_time_feed?timeout=25&channel=news&since=" + std::to_string(start), "", "",
            Bearer(short_lived));
  CheckRefused(poll.Read(seconds(15)), 401, "token expired");
}
