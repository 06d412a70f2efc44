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

// The arguments of a RESP command, read back: "*<n>\r\n" then n "$<length>\r\n<bytes>\r\n".
std::vector<std::string> Arguments(const std::string& resp) {
  std::vector<std::string> out;
  REQUIRE(resp.rfind('*', 0) == 0);
  std::size_t at = resp.find("\r\n");
  const std::size_t count = std::stoul(resp.substr(1, at - 1));
  at += 2;
  for (std::size_t i = 0; i < count; ++i) {
    REQUIRE(resp.at(at) == '$');
    const std::size_t end = resp.find("\r\n", at);
    const std::size_t length = std::stoul(resp.substr(at + 1, end - at - 1));
    out.push_back(resp.substr(end + 2, length));
    REQUIRE(resp.substr(end + 2 + length, 2) == "\r\n");
    at = end + 4 + length;
  }
  CHECK(at == resp.size());
  return out;
}

TEST_CASE("codec: a command's arguments are framed whatever bytes they hold") {
  RespCommand command{"SET", "a\r\nb"};
  command.Add("").Add(std::int64_t{-12}).Add(std::uint64_t{18446744073709551615u});
  CHECK(command.count() == 5);
  CHECK(command.name() == "SET");
  CHECK(
      command.Bytes() ==
      "*5\r\n$3\r\nSET\r\n$4\r\na\r\nb\r\n$0\r\n\r\n$3\r\n-12\r\n$20\r\n18446744073709551615\r\n");
  const std::string binary("\0$*\n", 4);
  CHECK(Arguments(RespCommand{"EVALSHA", "abc"}.Append(RespCommand{binary, "x"}).Bytes()) ==
        std::vector<std::string>{"EVALSHA", "abc", binary, "x"});
}

TEST_CASE("codec: a group names each channel once, and a key only for a publish that has one") {
  const RedisKeys keys("p:");
  AppendRequest plain{{{"news", "", "1"}, {"sport", "t", "2"}}, "", "fp1"};
  AppendRequest keyed{{{"news", "", "3"}}, "k1", "fp2"};
  const std::vector<std::string> call = Arguments(
      PublishCommand(keys, RedisLimits{}, {&plain, &keyed}).Call("EVALSHA", "sha").Bytes());
  REQUIRE(call.size() > 2);
  CHECK(call[0] == "EVALSHA");
  CHECK(call[1] == "sha");
  const std::vector<std::string> args(call.begin() + 2, call.end());
  // numkeys, six fixed keys, two per channel, one Idempotency key.
  REQUIRE(args.size() > 11);
  CHECK(args[0] == "11");
  CHECK(std::vector<std::string>(args.begin() + 7, args.begin() + 12) ==
        std::vector<std::string>{"p:s:news", "p:m:news", "p:s:sport", "p:m:sport", "p:k:k1"});
  // ARGV: announce and six limits, then publishes, drafts, channels, the channels' names.
  CHECK(std::vector<std::string>(args.begin() + 19, args.begin() + 24) ==
        std::vector<std::string>{"2", "3", "2", "news", "sport"});
  // Each publish: fingerprint, its number of drafts (negated with a key), then its drafts.
  CHECK(std::vector<std::string>(args.begin() + 24, args.end()) ==
        std::vector<std::string>{"fp1", "2", "news", "", "1", "sport", "t", "2", "fp2", "-1",
                                 "news", "", "3"});
}

}  // namespace
}  // namespace livefeed
