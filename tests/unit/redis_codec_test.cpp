#include "store/redis_codec.h"

#include <doctest/doctest.h>

namespace livefeed {
namespace {

std::string Field(const std::string& text) { return std::to_string(text.size()) + ":" + text; }

TEST_CASE("codec: an announcement carries the items and what each channel kept") {
  const std::string payload = "A" + Field("7") + Field("1700000000123") + Field("2") +
                              Field("100") + Field("news") + Field("") + Field(R"({"a":1})") +
                              Field("101") + Field("news") + Field("score") + Field("\"x:y\"") +
                              Field("1") + Field("news") + Field("101") + Field("90") + Field("5") +
                              Field("1");
  std::optional<News> news = DecodeNews(payload);
  REQUIRE(news);
  CHECK_FALSE(news->from_log);
  CHECK(news->seq == 7);
  REQUIRE(news->items.size() == 2);
  CHECK(news->items[0]->json ==
        R"({"id":100,"timestamp":1700000000123,"channel":"news","data":{"a":1}})");
  CHECK(news->items[1]->type == "score");
  CHECK(news->items[1]->data_json() == "\"x:y\"");
  REQUIRE(news->channels.size() == 1);
  CHECK(news->channels[0].trimmed == 90);
  CHECK(news->channels[0].length == 5);
  CHECK(news->newest() == 101);
}

TEST_CASE("codec: a log entry names the channels without items") {
  std::optional<News> news = DecodeNews("L" + Field("8") + Field("2") + Field("a") + Field("200") +
                                        Field("0") + Field("3") + Field("0") + Field("b") +
                                        Field("201") + Field("0") + Field("1") + Field("0"));
  REQUIRE(news);
  CHECK(news->from_log);
  CHECK(news->items.empty());
  CHECK(news->newest() == 201);
}

TEST_CASE("codec: anything malformed is refused") {
  for (const std::string& payload :
       {std::string(""), std::string("X1:1"), std::string("A"), "A" + Field("x"),
        "L" + Field("8") + Field("1") + Field("a"), "L" + Field("8") + "99:short",
        "L" + Field("8") + Field("0") + "trailing"}) {
    CAPTURE(payload);
    CHECK_FALSE(DecodeNews(payload));
  }
}

}  // namespace
}  // namespace livefeed
