// ParsePublish and HandlePublish: JSON and form bodies become items, anything else a 4xx
// that publishes nothing. Publishes run through a real MemoryStore and PublishReply.
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

PublishRequest Request(std::string_view content_type, std::string body, QueryParams params = {}) {
  return {content_type, std::move(body), std::move(params), ""};
}

// The draft's data as JSON, so that key order and spacing do not matter.
json Data(const ParsedPublish& parsed) { return json::parse(parsed.append.drafts.at(0).data_json); }

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
  CHECK(parsed.append.drafts.at(0).channel == "games");
  CHECK(parsed.append.drafts.at(0).type == "score");
  CHECK(parsed.append.drafts.at(0).data_json == R"({"n":[1,2]})");
}

TEST_CASE("a JSON body with data only goes to the default channel without a type") {
  ParsedPublish parsed = ParsePublish(Request(kJson, R"({"data": "hi"})"));
  REQUIRE(parsed.ok);
  CHECK(parsed.append.drafts.at(0).channel == "default");
  CHECK(parsed.append.drafts.at(0).type.empty());
  CHECK(parsed.append.drafts.at(0).data_json == R"("hi")");
}

TEST_CASE("data may be any JSON value, null included") {
  for (const char* data : {"null", "0", "true", "\"\"", "[]", "{}", "-1.5e3"}) {
    CAPTURE(data);
    ParsedPublish parsed = ParsePublish(Request(kJson, std::string(R"({"data":)") + data + "}"));
    REQUIRE(parsed.ok);
    CHECK(json::parse(parsed.append.drafts.at(0).data_json) == json::parse(data));
  }
}

TEST_CASE("a null type means no type") {
  ParsedPublish parsed = ParsePublish(Request(kJson, R"({"data": 1, "type": null})"));
  REQUIRE(parsed.ok);
  CHECK(parsed.append.drafts.at(0).type.empty());
}

TEST_CASE("non-ASCII text in data is kept") {
  ParsedPublish parsed = ParsePublish(Request(kJson, R"({"data": "h\u00e9llo ☃"})"));
  REQUIRE(parsed.ok);
  CHECK(Data(parsed) == "h\xc3\xa9llo \xe2\x98\x83");
}

TEST_CASE("the channel may come from the query") {
  ParsedPublish parsed = ParsePublish(Request(kJson, R"({"data": 1})", {{"channel", "news"}}));
  REQUIRE(parsed.ok);
  CHECK(parsed.append.drafts.at(0).channel == "news");
}

TEST_CASE("the same channel in the query and the body is accepted") {
  ParsedPublish parsed =
      ParsePublish(Request(kJson, R"({"data": 1, "channel": "news"})", {{"channel", "news"}}));
  REQUIRE(parsed.ok);
  CHECK(parsed.append.drafts.at(0).channel == "news");
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

TEST_CASE("malformed JSON is rejected, saying where") {
  for (const std::string body :
       {R"({"data": )", "", "   ", "{data: 1}", R"({"data": 1,})", "{\"data\": \"\xff\"}",
        R"({"data": 1} trailing)", R"({"data": [1 2]})", R"({"data": 01})", R"({"data": 1.})",
        R"({"data": "\x"})", R"({"data": "\ud800"})", R"({"data": "\udc00x"})",
        "{\"data\": \"a\tb\"}", R"({"data": tru})", R"({"data": {"a" 1}})"}) {
    CAPTURE(body);
    // What a strict reader (nlohmann's) makes of it, as a second opinion.
    CHECK_FALSE(json::accept(body));
    ParsedPublish parsed = ParsePublish(Request(kJson, body));
    CHECK(parsed.error.status == 400);
    const std::string error = ErrorOf(parsed);
    CHECK(Contains(error, "malformed JSON: parse error at byte "));
  }
}

TEST_CASE("data is kept as sent, without the whitespace between its tokens") {
  ParsedPublish parsed = ParsePublish(Request(
      kJson,
      "{ \"data\" : { \"a\" : [ 1 , 2.5e3 , \"x y\" , true , null ] , \"\\u00e9\" : {} } }"));
  REQUIRE(parsed.ok);
  CHECK(parsed.append.drafts.at(0).data_json == R"({"a":[1,2.5e3,"x y",true,null],"\u00e9":{}})");
  CHECK(json::parse(parsed.append.drafts.at(0).data_json) ==
        json::parse(R"({"a":[1,2500,"x y",true,null],"é":{}})"));
}

TEST_CASE("escaped type and channel names are read unescaped") {
  ParsedPublish parsed = ParsePublish(
      Request(kJson, R"({"data": 1, "type": "\u0061\u0062", "channel": "n\u0065ws"})"));
  REQUIRE(parsed.ok);
  CHECK(parsed.append.drafts.at(0).type == "ab");
  CHECK(parsed.append.drafts.at(0).channel == "news");
}

TEST_CASE("a field given twice is rejected") {
  CHECK(ParsePublish(Request(kJson, R"({"data": 1, "data": 2})")).error.status == 400);
  CHECK(
      ParsePublish(Request(kJson, R"({"data": 1, "channel": "a", "channel": "b"})")).error.status ==
      400);
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
  CHECK(parsed.append.drafts.at(0).channel == "default");
  CHECK(parsed.append.drafts.at(0).type.empty());
}

TEST_CASE("the form fields type and channel are taken as such") {
  ParsedPublish parsed = ParsePublish(Request(kForm, "type=alert&channel=ops&msg=down"));
  REQUIRE(parsed.ok);
  CHECK(parsed.append.drafts.at(0).type == "alert");
  CHECK(parsed.append.drafts.at(0).channel == "ops");
  CHECK(Data(parsed) == json{{"msg", "down"}});
}

TEST_CASE("empty type and channel form fields are ignored") {
  ParsedPublish parsed = ParsePublish(Request(kForm, "type=&channel=&msg=hi"));
  REQUIRE(parsed.ok);
  CHECK(parsed.append.drafts.at(0).type.empty());
  CHECK(parsed.append.drafts.at(0).channel == "default");
  CHECK(Data(parsed) == json{{"msg", "hi"}});
}

TEST_CASE("an empty channel form field leaves the query's channel in charge") {
  ParsedPublish parsed = ParsePublish(Request(kForm, "channel=&msg=hi", {{"channel", "ops"}}));
  REQUIRE(parsed.ok);
  CHECK(parsed.append.drafts.at(0).channel == "ops");
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
  CHECK(parsed.append.drafts.at(0).data_json == "{}");
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

// Parse, append to `store`, answer: what the HTTP layer does with a publish.
Reply HandlePublish(Store& store, const PublishRequest& request) {
  ParsedPublish parsed = ParsePublish(request);
  if (!parsed.ok) return parsed.error;
  std::optional<AppendResult> result = store.Append(std::move(parsed.append), nullptr);
  REQUIRE(result);
  return PublishReply(*result, parsed.batch, [](const std::string&) { return 7; });
}

struct PublishFixture {
  MemoryStore store{{}, [] { return kSomeTimeUs; }};
};

ReadResult ReadAll(MemoryStore& store, std::vector<std::string> channels) {
  return store.Read(ReadRequest{std::move(channels), 0, 1000});
}

TEST_CASE_FIXTURE(PublishFixture,
                  "a publish stores the item and answers its id, timestamp and channel") {
  Reply reply = HandlePublish(store, Request(kJson, R"({"data": {"x": 1}, "channel": "c"})"));
  CHECK(reply.status == 200);
  CHECK(reply.content_type == "application/json");
  const json answer = json::parse(reply.body);
  CHECK(answer["id"] == store.Head());
  CHECK(answer["timestamp"] == kSomeTimeUs / 1000);
  CHECK(answer["channel"] == "c");
  CHECK(answer["subscribers"] == 7);

  ReadResult read = ReadAll(store, {"c"});
  REQUIRE(read.items.size() == 1);
  CHECK(read.items[0]->id == answer["id"]);
  CHECK(read.items[0]->data_json() == R"({"x":1})");
}

TEST_CASE_FIXTURE(PublishFixture,
                  "the answer for an item with a type holds its id, timestamp and channel only") {
  Reply reply =
      HandlePublish(store, Request(kJson, R"({"data": [1], "type": "t", "channel": "c-1.x:y"})"));
  REQUIRE(reply.status == 200);
  CHECK(json::parse(reply.body) == json{{"id", store.Head()},
                                        {"timestamp", kSomeTimeUs / 1000},
                                        {"channel", "c-1.x:y"},
                                        {"subscribers", 7}});
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
    Reply reply = HandlePublish(store, request);
    CHECK(reply.status >= 400);
    CHECK(reply.status < 500);
    CHECK(json::parse(reply.body, nullptr, false).contains("error"));
  }
  CHECK(store.Head() == head);
  CHECK(ReadAll(store, {"default", "a", "b"}).items.empty());
}

TEST_CASE("a publish to an unavailable store answers 503 with Retry-After") {
  testing::FailingStore store([] { return kSomeTimeUs; });
  store.set_appends_fail(true);
  Reply reply = HandlePublish(store, Request(kJson, R"({"data": 1})"));
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

// Integers short enough to be finite as doubles are not read as doubles; longer ones are.
TEST_CASE("a long integer is kept while finite as a double and refused past that") {
  for (const std::string& number :
       {std::string(299, '9'), "-" + std::string(299, '9'), "1" + std::string(308, '0')}) {
    CAPTURE(number.size());
    ParsedPublish parsed = ParsePublish(Request(kJson, "{\"data\": " + number + "}"));
    REQUIRE(parsed.ok);
    CHECK(parsed.append.drafts.at(0).data_json == number);
  }
  for (const std::string& number : {"2" + std::string(308, '0'), std::string(400, '9')}) {
    CAPTURE(number.size());
    ParsedPublish parsed = ParsePublish(Request(kJson, "{\"data\": " + number + "}"));
    CHECK_FALSE(parsed.ok);
    CHECK(parsed.error.status == 400);
  }
}

TEST_CASE("a JSON array is a batch of items, each checked like a single one") {
  ParsedPublish parsed = ParsePublish(
      Request(kJson, R"([{"data": 1}, {"data": "two", "type": "t", "channel": "c"}])"));
  REQUIRE(parsed.ok);
  CHECK(parsed.batch);
  REQUIRE(parsed.append.drafts.size() == 2);
  CHECK(parsed.append.drafts[0].channel == "default");
  CHECK(parsed.append.drafts[1].channel == "c");
  CHECK(parsed.append.drafts[1].type == "t");
}

TEST_CASE("one bad item refuses the whole batch and says which") {
  CHECK(Contains(ErrorOf(ParsePublish(Request(kJson, R"([{"data": 1},])"))), "item 1"));
  ParsedPublish parsed = ParsePublish(Request(kJson, R"([{"data": 1}, {"nodata": 2}])"));
  CHECK(parsed.error.status == 400);
  CHECK(Contains(ErrorOf(parsed), "item 1"));
  CHECK(ParsePublish(Request(kJson, "[]")).error.status == 400);
  CHECK(ParsePublish(Request(kJson, R"([{"data": 1}, 2])")).error.status == 400);
}

TEST_CASE("a batch larger than the limit is refused with 413") {
  std::string body = "[";
  for (int i = 0; i < 11; ++i) body += std::string(i ? "," : "") + R"({"data":1})";
  body += "]";
  CHECK(ParsePublish(Request(kJson, body), 10).error.status == 413);
  CHECK(ParsePublish(Request(kJson, body), 11).ok);
}

TEST_CASE_FIXTURE(PublishFixture, "a batch is answered with every item, ids consecutive") {
  Reply reply = HandlePublish(store, Request(kJson, R"([{"data": 1}, {"data": 2}, {"data": 3}])"));
  REQUIRE(reply.status == 200);
  const json items = json::parse(reply.body)["items"];
  REQUIRE(items.size() == 3);
  CHECK(items[1]["id"].get<std::uint64_t>() == items[0]["id"].get<std::uint64_t>() + 1);
  CHECK(items[2]["id"].get<std::uint64_t>() == items[0]["id"].get<std::uint64_t>() + 2);
  CHECK(ReadAll(store, {"default"}).items.size() == 3);
}

TEST_CASE("an idempotency key carries a fingerprint of the request: same body, same print") {
  PublishRequest a = Request(kJson, R"({"data": 1})");
  a.idempotency_key = "k";
  PublishRequest b = a;
  PublishRequest other = a;
  other.body = R"({"data": 2})";
  PublishRequest elsewhere = a;
  elsewhere.params = {{"channel", "x"}};
  const std::string print = ParsePublish(a).append.fingerprint;
  CHECK(print.size() == 16);
  CHECK(ParsePublish(b).append.fingerprint == print);
  CHECK(ParsePublish(other).append.fingerprint != print);
  CHECK(ParsePublish(elsewhere).append.fingerprint != print);
  CHECK(ParsePublish(a).append.idempotency_key == "k");
}

TEST_CASE_FIXTURE(PublishFixture,
                  "a key reused for a different request answers 422 and adds nothing") {
  PublishRequest first = Request(kJson, R"({"data": 1})");
  first.idempotency_key = "order-1";
  PublishRequest second = first;
  second.body = R"({"data": 2})";
  CHECK(HandlePublish(store, first).status == 200);
  Reply conflict = HandlePublish(store, second);
  CHECK(conflict.status == 422);
  CHECK(Contains(json::parse(conflict.body)["error"].get<std::string>(), "different request"));
  Reply replay = HandlePublish(store, first);
  CHECK(replay.status == 200);
  CHECK(replay.headers ==
        std::vector<std::pair<std::string, std::string>>{{"Idempotent-Replayed", "true"}});
  CHECK(ReadAll(store, {"default"}).items.size() == 1);
}

TEST_CASE("store refusals become the right status") {
  auto status = [](StoreStatus s) {
    return PublishReply({s, {}, false}, false, [](const std::string&) { return 0; }).status;
  };
  CHECK(status(StoreStatus::kFull) == 507);
  CHECK(status(StoreStatus::kTooLarge) == 507);
  CHECK(status(StoreStatus::kKeyConflict) == 422);
  CHECK(status(StoreStatus::kUnavailable) == 503);
  CHECK(status(StoreStatus::kBusy) == 503);
}

}  // namespace
}  // namespace livefeed
