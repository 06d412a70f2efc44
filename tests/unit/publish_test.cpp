// ParsePublish and HandlePublish: JSON and form bodies become items, anything else a 4xx
// that publishes nothing. HandlePublish runs against a real Feed over a MemoryStore.
#include "transport/publish.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "failing_store.h"
#include "store/memory_store.h"

namespace livefeed {
namespace {

using nlohmann::json;

constexpr std::int64_t kSomeTimeUs = 1'700'000'000'000'000;
constexpr char kJson[] = "application/json";
constexpr char kForm[] = "application/x-www-form-urlencoded";

PublishRequest Request(std::string content_type, std::string body, QueryParams params = {}) {
  return {std::move(content_type), std::move(body), std::move(params), ""};
}

// The draft's data as JSON, so that key order and spacing do not matter.
json Data(const ParsedPublish& parsed) { return json::parse(parsed.draft.data_json); }

// The "error" text of a rejection; fails the test if the request was accepted.
std::string ErrorOf(const ParsedPublish& parsed) {
  CHECK_FALSE(parsed.ok);
  const json body = json::parse(parsed.error.body, nullptr, /*allow_exceptions=*/false);
  REQUIRE(body.is_object());
  return body.value("error", "");
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string Nested(int levels) { return std::string(levels, '[') + std::string(levels, ']'); }

TEST_CASE("a JSON body gives the item its data, type and channel") {
  ParsedPublish parsed = ParsePublish(
      Request(kJson, R"({"data": {"n": [1, 2]}, "type": "score", "channel": "games"})"));
  REQUIRE(parsed.ok);
  CHECK(parsed.draft.channel == "games");
  CHECK(parsed.draft.type == "score");
  CHECK(parsed.draft.data_json == R"({"n":[1,2]})");
}

TEST_CASE("a JSON body with data only goes to the default channel without a type") {
  ParsedPublish parsed = ParsePublish(Request(kJson, R"({"data": "hi"})"));
  REQUIRE(parsed.ok);
  CHECK(parsed.draft.channel == "default");
  CHECK(parsed.draft.type.empty());
  CHECK(parsed.draft.data_json == R"("hi")");
}

TEST_CASE("data may be any JSON value, null included") {
  for (const char* data : {"null", "0", "true", "\"\"", "[]", "{}", "-1.5e3"}) {
    CAPTURE(data);
    ParsedPublish parsed = ParsePublish(Request(kJson, std::string(R"({"data":)") + data + "}"));
    REQUIRE(parsed.ok);
    CHECK(json::parse(parsed.draft.data_json) == json::parse(data));
  }
}

TEST_CASE("a null type means no type") {
  ParsedPublish parsed = ParsePublish(Request(kJson, R"({"data": 1, "type": null})"));
  REQUIRE(parsed.ok);
  CHECK(parsed.draft.type.empty());
}

TEST_CASE("non-ASCII text in data is kept") {
  ParsedPublish parsed = ParsePublish(Request(kJson, R"({"data": "h\u00e9llo ☃"})"));
  REQUIRE(parsed.ok);
  CHECK(Data(parsed) == "h\xc3\xa9llo \xe2\x98\x83");
}

TEST_CASE("the channel may come from the query") {
  ParsedPublish parsed = ParsePublish(Request(kJson, R"({"data": 1})", {{"channel", "news"}}));
  REQUIRE(parsed.ok);
  CHECK(parsed.draft.channel == "news");
}

TEST_CASE("the same channel in the query and the body is accepted") {
  ParsedPublish parsed =
      ParsePublish(Request(kJson, R"({"data": 1, "channel": "news"})", {{"channel", "news"}}));
  REQUIRE(parsed.ok);
  CHECK(parsed.draft.channel == "news");
}

TEST_CASE("different channels in the query and the body are rejected") {
  ParsedPublish parsed =
      ParsePublish(Request(kJson, R"({"data": 1, "channel": "a"})", {{"channel", "b"}}));
  CHECK(parsed.error.status == 400);
  CHECK(Contains(ErrorOf(parsed), "differ"));
}

TEST_CASE("a channel given twice in the query is rejected") {
  ParsedPublish parsed =
      ParsePublish(Request(kJson, R"({"data": 1})", {{"channel", "a"}, {"channel", "a"}}));
  CHECK(parsed.error.status == 400);
  CHECK(Contains(ErrorOf(parsed), "more than once"));
}

TEST_CASE("an invalid channel name is rejected") {
  for (const char* channel : {"", "a b", "a/b", "\xc3\xa9"}) {
    CAPTURE(channel);
    ParsedPublish parsed =
        ParsePublish(Request(kJson, json{{"data", 1}, {"channel", channel}}.dump()));
    CHECK(parsed.error.status == 400);
    CHECK(Contains(ErrorOf(parsed), "invalid channel name"));
  }
  ParsedPublish from_query = ParsePublish(Request(kJson, R"({"data": 1})", {{"channel", "a b"}}));
  CHECK(from_query.error.status == 400);
}

TEST_CASE("a channel or type that is not a string is rejected") {
  CHECK(Contains(ErrorOf(ParsePublish(Request(kJson, R"({"data": 1, "channel": 5})"))),
                 "\"channel\" must be a string"));
  CHECK(Contains(ErrorOf(ParsePublish(Request(kJson, R"({"data": 1, "channel": null})"))),
                 "\"channel\" must be a string"));
  CHECK(Contains(ErrorOf(ParsePublish(Request(kJson, R"({"data": 1, "type": ["x"]})"))),
                 "\"type\" must be a string"));
}

TEST_CASE("a type outside the channel charset is rejected") {
  // Types become SSE event names, where a newline would forge a new field.
  ParsedPublish parsed = ParsePublish(Request(kJson, R"({"data": 1, "type": "a\nid: 1"})"));
  CHECK(parsed.error.status == 400);
  CHECK(Contains(ErrorOf(parsed), "invalid type"));
}

TEST_CASE("a JSON body without data is rejected") {
  ParsedPublish parsed = ParsePublish(Request(kJson, R"({"type": "x"})"));
  CHECK(parsed.error.status == 400);
  CHECK(Contains(ErrorOf(parsed), "\"data\" is required"));
}

TEST_CASE("a JSON body that is not an object is rejected") {
  for (const char* body : {"[1]", "\"data\"", "42", "null", "true"}) {
    CAPTURE(body);
    ParsedPublish parsed = ParsePublish(Request(kJson, body));
    CHECK(parsed.error.status == 400);
    CHECK(Contains(ErrorOf(parsed), "must be a JSON object"));
  }
}

TEST_CASE("a JSON body with an unknown field is rejected") {
  ParsedPublish parsed = ParsePublish(Request(kJson, R"({"data": 1, "extra": 2})"));
  CHECK(parsed.error.status == 400);
  CHECK(Contains(ErrorOf(parsed), "unknown field 'extra'"));
}

TEST_CASE("malformed JSON is rejected with the parser's message") {
  for (const std::string body : {R"({"data": )", "", "{data: 1}", R"({"data": 1,})",
                                 "{\"data\": \"\xff\"}", R"({"data": 1} trailing)"}) {
    CAPTURE(body);
    std::string parser_message;
    try {
      const json parsed_anyway = json::parse(body);
    } catch (const json::parse_error& e) {
      parser_message = e.what();
    }
    REQUIRE_FALSE(parser_message.empty());
    ParsedPublish parsed = ParsePublish(Request(kJson, body));
    CHECK(parsed.error.status == 400);
    const std::string error = ErrorOf(parsed);
    CHECK(Contains(error, "malformed JSON"));
    // Up to any invalid byte it quotes, which the error reply replaces.
    CHECK(Contains(error, parser_message.substr(0, parser_message.find('\xff'))));
  }
}

TEST_CASE("JSON nested 64 levels deep is accepted") {
  // The body object is the first level.
  ParsedPublish parsed = ParsePublish(Request(kJson, "{\"data\":" + Nested(63) + "}"));
  CHECK(parsed.ok);
}

// One level past the limit: an off-by-one in the depth check would let it through.
TEST_CASE("JSON nested 65 levels deep is rejected") {
  ParsedPublish parsed = ParsePublish(Request(kJson, "{\"data\":" + Nested(64) + "}"));
  CHECK(parsed.error.status == 400);
}

TEST_CASE("brackets inside strings do not count as nesting") {
  const std::string brackets(200, '[');
  ParsedPublish parsed =
      ParsePublish(Request(kJson, "{\"data\":\"" + brackets + "\\\"" + brackets + "\"}"));
  CHECK(parsed.ok);
}

TEST_CASE("JSON nested deeper than 64 levels is rejected") {
  ParsedPublish parsed = ParsePublish(Request(kJson, "{\"data\":" + Nested(100) + "}"));
  CHECK(parsed.error.status == 400);
  CHECK(Contains(ErrorOf(parsed), "nested deeper than 64"));
}

TEST_CASE("JSON nested as deep as the largest body allows is rejected without crashing") {
  // 64 KiB of brackets, the default --max-body: a recursive parser would overflow the stack.
  ParsedPublish parsed = ParsePublish(Request(kJson, "{\"data\":" + Nested(32'000) + "}"));
  CHECK(parsed.error.status == 400);
}

TEST_CASE("a content type other than JSON or form is rejected with 415") {
  for (const char* type : {"text/plain", "", "multipart/form-data; boundary=x", "application/jsonx",
                           "application/x-json"}) {
    CAPTURE(type);
    ParsedPublish parsed = ParsePublish(Request(type, R"({"data": 1})"));
    CHECK_FALSE(parsed.ok);
    CHECK(parsed.error.status == 415);
  }
}

TEST_CASE("a content type with parameters or in upper case is understood") {
  for (const char* type : {"application/json; charset=utf-8", "application/json;charset=UTF-8",
                           "Application/JSON", "application/json ; charset=utf-8"}) {
    CAPTURE(type);
    CHECK(ParsePublish(Request(type, R"({"data": 1})")).ok);
  }
  CHECK(ParsePublish(Request("application/x-www-form-urlencoded; charset=UTF-8", "a=1")).ok);
}

TEST_CASE("form fields become the data object") {
  ParsedPublish parsed = ParsePublish(Request(kForm, "msg=hello+world&n=%31%32"));
  REQUIRE(parsed.ok);
  CHECK(Data(parsed) == json{{"msg", "hello world"}, {"n", "12"}});
  CHECK(parsed.draft.channel == "default");
  CHECK(parsed.draft.type.empty());
}

TEST_CASE("the form fields type and channel are taken as such") {
  ParsedPublish parsed = ParsePublish(Request(kForm, "type=alert&channel=ops&msg=down"));
  REQUIRE(parsed.ok);
  CHECK(parsed.draft.type == "alert");
  CHECK(parsed.draft.channel == "ops");
  CHECK(Data(parsed) == json{{"msg", "down"}});
}

TEST_CASE("empty type and channel form fields are ignored") {
  ParsedPublish parsed = ParsePublish(Request(kForm, "type=&channel=&msg=hi"));
  REQUIRE(parsed.ok);
  CHECK(parsed.draft.type.empty());
  CHECK(parsed.draft.channel == "default");
  CHECK(Data(parsed) == json{{"msg", "hi"}});
}

TEST_CASE("an empty channel form field leaves the query's channel in charge") {
  ParsedPublish parsed = ParsePublish(Request(kForm, "channel=&msg=hi", {{"channel", "ops"}}));
  REQUIRE(parsed.ok);
  CHECK(parsed.draft.channel == "ops");
}

TEST_CASE("a form channel differing from the query's is rejected") {
  ParsedPublish parsed = ParsePublish(Request(kForm, "channel=a&msg=hi", {{"channel", "b"}}));
  CHECK(parsed.error.status == 400);
}

TEST_CASE("a repeated form field becomes an array of its values") {
  ParsedPublish parsed = ParsePublish(Request(kForm, "tag=a&other=x&tag=b&tag=c"));
  REQUIRE(parsed.ok);
  CHECK(Data(parsed) == json{{"tag", {"a", "b", "c"}}, {"other", "x"}});
}

TEST_CASE("an empty form body publishes an empty object") {
  ParsedPublish parsed = ParsePublish(Request(kForm, ""));
  REQUIRE(parsed.ok);
  CHECK(parsed.draft.data_json == "{}");
}

TEST_CASE("a form body with invalid UTF-8 is rejected") {
  for (const char* body : {"msg=%FF", "msg=%C0%AF", "m%FFsg=1", "msg=\xff"}) {
    CAPTURE(body);
    ParsedPublish parsed = ParsePublish(Request(kForm, body));
    CHECK(parsed.error.status == 400);
    CHECK(Contains(ErrorOf(parsed), "malformed form body"));
  }
}

TEST_CASE("a form body with a bad percent escape is rejected") {
  ParsedPublish parsed = ParsePublish(Request(kForm, "msg=100%"));
  CHECK(parsed.error.status == 400);
}

TEST_CASE("a form type outside the channel charset is rejected") {
  ParsedPublish parsed = ParsePublish(Request(kForm, "type=a%0Ab&msg=1"));
  CHECK(parsed.error.status == 400);
  CHECK(Contains(ErrorOf(parsed), "invalid type"));
}

struct PublishFixture {
  MemoryStore store{{}, [] { return kSomeTimeUs; }};
  Feed feed{store};
};

TEST_CASE_FIXTURE(PublishFixture,
                  "a publish stores the item and answers its id, timestamp and channel") {
  Reply reply = HandlePublish(feed, Request(kJson, R"({"data": {"x": 1}, "channel": "c"})"));
  CHECK(reply.status == 200);
  CHECK(reply.content_type == "application/json");
  const json answer = json::parse(reply.body);
  CHECK(answer["id"] == store.Head());
  CHECK(answer["timestamp"] == kSomeTimeUs / 1000);
  CHECK(answer["channel"] == "c");

  ReadResult read = store.Read({"c"}, 0, 10);
  REQUIRE(read.items.size() == 1);
  CHECK(read.items[0]->id == answer["id"]);
  CHECK(read.items[0]->data_json == R"({"x":1})");
}

TEST_CASE_FIXTURE(PublishFixture, "a rejected publish stores nothing") {
  const auto head = store.Head();
  const std::vector<PublishRequest> rejected = {
      Request(kJson, R"({"data": )"),
      Request(kJson, R"({"nodata": 1})"),
      Request(kJson, R"({"data": 1, "channel": "a"})", {{"channel", "b"}}),
      Request(kJson, "{\"data\":" + Nested(100) + "}"),
      Request("text/plain", "hello"),
      Request(kForm, "msg=%FF"),
  };
  for (const PublishRequest& request : rejected) {
    CAPTURE(request.body);
    Reply reply = HandlePublish(feed, request);
    CHECK(reply.status >= 400);
    CHECK(reply.status < 500);
    CHECK(json::parse(reply.body, nullptr, false).contains("error"));
  }
  CHECK(store.Head() == head);
  CHECK(store.Read({"default", "a", "b"}, 0, 10).items.empty());
}

TEST_CASE("a publish to an unavailable store answers 503 with Retry-After") {
  testing::FailingStore store([] { return kSomeTimeUs; });
  Feed feed(store);
  store.set_appends_fail(true);
  Reply reply = HandlePublish(feed, Request(kJson, R"({"data": 1})"));
  CHECK(reply.status == 503);
  CHECK(reply.headers == std::vector<std::pair<std::string, std::string>>{{"Retry-After", "1"}});
  CHECK(json::parse(reply.body).contains("error"));
}

// Found by the publish fuzzer: nlohmann reports an out-of-range number as out_of_range,
// not parse_error, and it escaped as an exception (a 500 from the server).
TEST_CASE("a number out of range is malformed JSON, not an exception") {
  ParsedPublish parsed = ParsePublish(Request(kJson, R"({"data": -10e91999})"));
  CHECK_FALSE(parsed.ok);
  CHECK(parsed.error.status == 400);
}

}  // namespace
}  // namespace livefeed
