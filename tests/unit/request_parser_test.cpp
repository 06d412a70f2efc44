// RequestParser: what the front door accepts, what it refuses and with which status, fed
// whole and a byte at a time.
#include "http/request_parser.h"

#include <doctest/doctest.h>

#include <string>

namespace livefeed {
namespace {

struct Parsed {
  RequestParser::State state;
  int status = 0;
  std::string message;
  std::string method, target, body;
  bool keep_alive = false;
  std::size_t consumed = 0;
};

// Feeds `input` (whole, or in pieces of `step` bytes) up to the end of one request,
// reading the body with `max_body` when the head announces one.
Parsed Parse(const std::string& input, std::size_t step = 0, std::size_t max_body = 1 << 20,
             ParserLimits limits = {}) {
  RequestParser parser(limits);
  Parsed out{};
  std::size_t pos = 0;
  std::string pending;
  while (true) {
    if (parser.state() == RequestParser::State::kReady) {
      out.method = std::string(parser.head().method());
      out.target = std::string(parser.head().target());
      out.keep_alive = parser.head().keep_alive();
      parser.ExpectBody(max_body);
      continue;
    }
    if (parser.state() == RequestParser::State::kDone ||
        parser.state() == RequestParser::State::kError) {
      break;
    }
    if (pending.empty()) {
      if (pos >= input.size()) break;
      const std::size_t n = step ? std::min(step, input.size() - pos) : input.size() - pos;
      pending = input.substr(pos, n);
      pos += n;
    }
    const std::size_t used = parser.Feed(pending);
    out.consumed += used;
    if (used == 0 && parser.state() != RequestParser::State::kReady &&
        parser.state() != RequestParser::State::kDone) {
      // Needs more than what is pending: append the next piece.
      if (pos >= input.size()) break;
      const std::size_t n = step ? std::min(step, input.size() - pos) : input.size() - pos;
      pending += input.substr(pos, n);
      pos += n;
      continue;
    }
    pending.erase(0, used);
  }
  out.state = parser.state();
  out.status = parser.error_status();
  out.message = parser.error_message();
  if (out.state == RequestParser::State::kDone) out.body = parser.TakeBody();
  return out;
}

void CheckRefused(const std::string& input, int status) {
  for (std::size_t step : {std::size_t{0}, std::size_t{1}, std::size_t{7}}) {
    CAPTURE(step);
    const Parsed p = Parse(input, step);
    CHECK(p.state == RequestParser::State::kError);
    CHECK(p.status == status);
  }
}

Parsed CheckAccepted(const std::string& input) {
  Parsed whole = Parse(input);
  for (std::size_t step : {std::size_t{1}, std::size_t{3}}) {
    CAPTURE(step);
    const Parsed p = Parse(input, step);
    CHECK(p.state == RequestParser::State::kDone);
    CHECK(p.body == whole.body);
    CHECK(p.target == whole.target);
  }
  CHECK(whole.state == RequestParser::State::kDone);
  return whole;
}

const std::string kGet = "GET /x?a=1 HTTP/1.1\r\nHost: h\r\n\r\n";

}  // namespace

TEST_CASE("a plain GET is accepted, whole or a byte at a time") {
  const Parsed p = CheckAccepted(kGet);
  CHECK(p.method == "GET");
  CHECK(p.target == "/x?a=1");
  CHECK(p.keep_alive);
  CHECK(p.consumed == kGet.size());
}

TEST_CASE("the parser stops at the end of one request and leaves the next one") {
  const Parsed p = Parse(kGet + kGet);
  CHECK(p.state == RequestParser::State::kDone);
  CHECK(p.consumed == kGet.size());
}

TEST_CASE("path, query and fields are read as sent") {
  RequestParser parser;
  parser.Feed("GET /a%20b?x=%41&y HTTP/1.1\r\nHost: h\r\nX-Thing:  spaced value \t\r\n\r\n");
  REQUIRE(parser.state() == RequestParser::State::kReady);
  const RequestHead& head = parser.head();
  CHECK(head.path() == "/a%20b");
  CHECK(head.query() == "x=%41&y");
  CHECK(head.Get("x-thing") == "spaced value");
  CHECK(head.Get("X-THING") == "spaced value");
  CHECK_FALSE(head.Get("missing"));
}

TEST_CASE("a field the server reads is found in any case, the first one if it repeats") {
  RequestParser parser;
  parser.Feed(
      "GET / HTTP/1.1\r\nhOsT: h\r\nX-Forwarded-For: 10.0.0.1\r\nx-forwarded-for: 10.0.0.2\r\n"
      "X-REQUEST-ID: abc\r\n\r\n");
  REQUIRE(parser.state() == RequestParser::State::kReady);
  const RequestHead& head = parser.head();
  CHECK(head.Get(KnownField::kHost) == "h");
  CHECK(head.Get(KnownField::kXForwardedFor) == "10.0.0.1");
  CHECK(head.Get(KnownField::kXRequestId) == "abc");
  CHECK_FALSE(head.Get(KnownField::kOrigin));
  // By name, a known field is the same lookup.
  CHECK(head.Get("X-Forwarded-For") == "10.0.0.1");
  CHECK(head.Get("x-request-id") == "abc");
}

TEST_CASE("a Content-Length body is read whole and no further") {
  const Parsed p = CheckAccepted(
      "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\n");
  CHECK(p.body == "hello");
}

TEST_CASE("a chunked body is de-chunked, extensions and trailers dropped") {
  const Parsed p = CheckAccepted(
      "POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n");
  CHECK(p.body == "hello world");
  // Sizes are hexadecimal in either case.
  const Parsed hex = CheckAccepted(
      "POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "A\r\n0123456789\r\nb\r\nabcdefghijk\r\n0\r\n\r\n");
  CHECK(hex.body == "0123456789abcdefghijk");
}

TEST_CASE("HTTP/1.0 closes by default and keeps alive when asked") {
  CHECK_FALSE(CheckAccepted("GET / HTTP/1.0\r\n\r\n").keep_alive);
  CHECK(CheckAccepted("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").keep_alive);
  CHECK_FALSE(CheckAccepted("GET / HTTP/1.1\r\nHost: h\r\nConnection: Close\r\n\r\n").keep_alive);
}

TEST_CASE("a blank line or two before the request line is skipped") {
  CHECK(CheckAccepted("\r\n\r\n" + kGet).target == "/x?a=1");
}

TEST_CASE("Content-Length together with Transfer-Encoding is refused") {
  CheckRefused(
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
}

TEST_CASE("two Content-Length headers are refused, even when they agree") {
  CheckRefused("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n", 400);
}

TEST_CASE("an invalid Content-Length is refused") {
  for (const char* value :
       {"-1", "1e3", "+3", "3 3", "", "0x10", "99999999999999999999", "1\xb2"}) {
    CAPTURE(value);
    CheckRefused(std::string("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ") + value + "\r\n\r\n",
                 400);
  }
}

TEST_CASE("any Transfer-Encoding but a single chunked is refused") {
  for (const char* value :
       {"gzip", "chunked, chunked", "gzip, chunked", "identity", "chunked;x", "xchunked"}) {
    CAPTURE(value);
    CheckRefused(
        std::string("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: ") + value + "\r\n\r\n", 400);
  }
  CheckRefused(
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"
      "\r\n",
      400);
  // HTTP/1.0 has no chunked coding: a sender that claims it is not to be believed.
  CheckRefused("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
}

TEST_CASE("obsolete line folding is refused") {
  CheckRefused("GET / HTTP/1.1\r\nHost: h\r\nX-A: one\r\n two\r\n\r\n", 400);
}

TEST_CASE("NUL, CR and other controls inside a header value are refused") {
  static constexpr char kNul[] = "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\0b\r\n\r\n";
  CheckRefused(std::string(kNul, sizeof kNul - 1), 400);
  CheckRefused("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\rb\r\n\r\n", 400);
  CheckRefused("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\x01b\r\n\r\n", 400);
  CheckRefused("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\x7f\r\n\r\n", 400);
}

// Values and targets are checked eight bytes at a time where they can be: every byte value
// at every position of a long one, so that each place in a run of eight is covered. The
// request made with `request(text)` must be accepted exactly when `allowed(byte, at)`.
template <typename Request, typename Allowed>
void CheckEachByte(std::string text, std::size_t from, Request request, Allowed allowed) {
  for (std::size_t at = from; at < text.size(); ++at) {
    for (int b = 0; b < 256; ++b) {
      std::string changed = text;
      changed[at] = static_cast<char>(b);
      CAPTURE(at);
      CAPTURE(b);
      const Parsed p = Parse(request(changed));
      const bool ok = allowed(b, at);
      CHECK(p.state == (ok ? RequestParser::State::kDone : RequestParser::State::kError));
      if (!ok) CHECK(p.status == 400);
    }
  }
}

TEST_CASE("each byte of a long header value is checked, wherever it stands") {
  CheckEachByte(
      std::string(24, 'v'), 0,
      [](const std::string& value) {
        return "GET / HTTP/1.1\r\nHost: h\r\nX-A: " + value + "\r\n\r\n";
      },
      // Leading and trailing spaces and tabs are optional whitespace, not part of it.
      [](int b, std::size_t) { return (b >= 0x20 && b != 0x7f) || b == '\t'; });
}

TEST_CASE("each byte of a long target is checked, wherever it stands") {
  const std::string target = "/" + std::string(23, 'a');
  CheckEachByte(
      target, 1,
      [](const std::string& changed) { return "GET " + changed + " HTTP/1.1\r\nHost: h\r\n\r\n"; },
      // A percent escape needs two hex digits after it: "aa", unless too near the end.
      [&](int b, std::size_t at) {
        return b > 0x20 && b < 0x7f && b != '#' && (b != '%' || at + 2 < target.size());
      });
}

TEST_CASE("a bare LF ends nothing: it is refused") {
  CheckRefused("GET / HTTP/1.1\nHost: h\r\n\r\n", 400);
  CheckRefused("GET / HTTP/1.1\r\nHost: h\n\r\n", 400);
  CheckRefused("GET / HTTP/1.1\r\nHost: h\r\n\n", 400);
}

TEST_CASE("whitespace before a header's colon is refused") {
  CheckRefused("GET / HTTP/1.1\r\nHost: h\r\nContent-Length : 3\r\n\r\n", 400);
}

TEST_CASE("a malformed request line is refused") {
  CheckRefused("GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400);
  CheckRefused("GET / HTTP/1.1 \r\nHost: h\r\n\r\n", 400);
  CheckRefused("GET /a b HTTP/1.1\r\nHost: h\r\n\r\n", 400);
  CheckRefused("GET http://h/ HTTP/1.1\r\nHost: h\r\n\r\n", 400);
  CheckRefused("GET /#frag HTTP/1.1\r\nHost: h\r\n\r\n", 400);
  CheckRefused("GET /%zz HTTP/1.1\r\nHost: h\r\n\r\n", 400);
  CheckRefused("GET /\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n", 400);
  CheckRefused("G(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400);
  CheckRefused("GET / HTTP/1.x\r\nHost: h\r\n\r\n", 400);
  CheckRefused("GET / HTTP/\xb9.1\r\nHost: h\r\n\r\n",
               400);  // A byte no digit, whatever the locale.
  CheckRefused("GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505);
  // HTTP/2's connection preface (what h2load or curl --http2-prior-knowledge send first).
  CheckRefused(std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 505);
}

TEST_CASE("an HTTP/1.1 request needs exactly one Host") {
  CheckRefused("GET / HTTP/1.1\r\n\r\n", 400);
  CheckRefused("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400);
}

TEST_CASE("a request line over the line limit is 414, a header line 431, a head 431") {
  CheckRefused("GET /" + std::string(9000, 'a') + " HTTP/1.1\r\nHost: h\r\n\r\n", 414);
  CheckRefused("GET / HTTP/1.1\r\nHost: h\r\nX-A: " + std::string(9000, 'a') + "\r\n\r\n", 431);
  std::string many = "GET / HTTP/1.1\r\nHost: h\r\n";
  for (int i = 0; i < 101; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
  CheckRefused(many + "\r\n", 431);
  std::string large = "GET / HTTP/1.1\r\nHost: h\r\n";
  for (int i = 0; i < 90; ++i)
    large += "X-" + std::to_string(i) + ": " + std::string(400, 'v') + "\r\n";
  CheckRefused(large + "\r\n", 431);
}

TEST_CASE("an endless head is refused as soon as it passes the limit, unterminated") {
  RequestParser parser;
  const std::string chunk(4096, 'a');
  parser.Feed("GET / HTTP/1.1\r\nHost: h\r\nX-A: ");
  std::size_t fed = 0;
  while (parser.state() == RequestParser::State::kHead && fed < (1u << 20)) {
    parser.Feed(chunk);
    fed += chunk.size();
  }
  CHECK(parser.state() == RequestParser::State::kError);
  CHECK(parser.error_status() == 431);
  CHECK(fed <= 16 * 1024);
}

TEST_CASE("a chunk-size line longer than a few bytes is refused, without a LF in sight") {
  RequestParser parser;
  parser.Feed("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n");
  REQUIRE(parser.state() == RequestParser::State::kReady);
  parser.ExpectBody(1 << 20);
  const std::string digits(4096, '1');
  std::size_t fed = 0;
  while (parser.state() == RequestParser::State::kBody && fed < (8u << 20)) {
    parser.Feed(digits);
    fed += digits.size();
  }
  CHECK(parser.state() == RequestParser::State::kError);
  CHECK(fed == digits.size());
}

TEST_CASE("a negative, malformed or overflowing chunk size is refused") {
  const std::string head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
  CheckRefused(head + "-2\r\nhi\r\n0\r\n\r\n", 400);
  CheckRefused(head + "\r\nhi\r\n0\r\n\r\n", 400);
  CheckRefused(head + "2 x\r\nhi\r\n0\r\n\r\n", 400);
  CheckRefused(head + "ffffffffffffffffff\r\n", 413);
  CheckRefused(head + "fffffffffffffffe\r\n", 413);
  // Chunk data that runs past its size.
  CheckRefused(head + "2\r\nhello\r\n0\r\n\r\n", 400);
}

TEST_CASE("a decoded body past the limit is 413, however it is framed") {
  const std::string head = "POST / HTTP/1.1\r\nHost: h\r\n";
  CHECK(Parse(head + "Content-Length: 11\r\n\r\nhello world", 0, 10).status == 413);
  CHECK(Parse(head + "Transfer-Encoding: chunked\r\n\r\n6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n", 0,
              10)
            .status == 413);
  CHECK(Parse(head + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 0, 10).state ==
        RequestParser::State::kDone);
}

TEST_CASE("a malformed trailer is refused") {
  CheckRefused(
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nbad trailer\r\n\r\n",
      400);
}

TEST_CASE("Expect: 100-continue is noted, any other expectation is 417") {
  RequestParser parser;
  parser.Feed("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n");
  REQUIRE(parser.state() == RequestParser::State::kReady);
  CHECK(parser.head().expects_continue());
  CheckRefused("GET / HTTP/1.1\r\nHost: h\r\nExpect: teapot\r\n\r\n", 417);
}

TEST_CASE("fields that must be single are refused when repeated") {
  for (const char* name : {"Content-Type", "Authorization", "Idempotency-Key", "Origin",
                           "Last-Event-ID", "Content-Encoding"}) {
    CAPTURE(name);
    CheckRefused(
        std::string("GET / HTTP/1.1\r\nHost: h\r\n") + name + ": a\r\n" + name + ": b\r\n\r\n",
        400);
  }
}

TEST_CASE("after Reset the parser reads the next request") {
  RequestParser parser;
  const std::string two = kGet + "GET /second HTTP/1.1\r\nHost: h\r\n\r\n";
  const std::size_t used = parser.Feed(two);
  REQUIRE(parser.state() == RequestParser::State::kReady);
  parser.ExpectBody(0);
  REQUIRE(parser.state() == RequestParser::State::kDone);
  parser.Reset();
  parser.Feed(std::string_view(two).substr(used));
  REQUIRE(parser.state() == RequestParser::State::kReady);
  CHECK(parser.head().target() == "/second");
}

}  // namespace livefeed
