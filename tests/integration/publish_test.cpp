// POST /send_feed_item against the real binary: JSON and form bodies, and every refusal.
#include <doctest/doctest.h>

#include "support/feed_helpers.h"

using namespace livefeed::testing;

namespace {
std::size_t RetainedCount(int port, const std::string& channel = "default") {
  return Get(port, "/real_time_feed?since=0&timeout=1&channel=" + channel).Json()["items"].size();
}
}  // namespace

TEST_CASE("a JSON publish answers id, timestamp and channel, and the item is in the feed") {
  ServerProcess server;
  auto response = PostJson(
      server.port(), R"({"data":{"n":[1,2,{"deep":true}]},"type":"score","channel":"games"})");
  REQUIRE(response.status == 200);
  auto answer = response.Json();
  CHECK(answer["channel"] == "games");
  CHECK(answer["id"].is_number_unsigned());
  CHECK(answer["timestamp"].is_number_integer());

  auto feed = Get(server.port(), "/real_time_feed?since=0&channel=games").Json();
  REQUIRE(feed["items"].size() == 1);
  CHECK(feed["items"][0]["id"] == answer["id"]);
  CHECK(feed["items"][0]["timestamp"] == answer["timestamp"]);
  CHECK(feed["items"][0]["type"] == "score");
  CHECK(feed["items"][0]["data"] == nlohmann::json::parse(R"({"n":[1,2,{"deep":true}]})"));
}

TEST_CASE("the channel may come from the query string") {
  ServerProcess server;
  auto response = PostJson(server.port(), R"({"data":"x"})", "/send_feed_item?channel=alerts");
  REQUIRE(response.status == 200);
  CHECK(response.Json()["channel"] == "alerts");
  CHECK(RetainedCount(server.port(), "alerts") == 1);
}

TEST_CASE("a form publish turns the fields into the item's data") {
  ServerProcess server;
  auto response = Request(server.port(), "POST", "/send_feed_item",
                          "type=note&channel=forms&text=hello+world%21&author=ann",
                          "application/x-www-form-urlencoded");
  REQUIRE(response.status == 200);
  auto item = Get(server.port(), "/real_time_feed?since=0&channel=forms").Json()["items"][0];
  CHECK(item["type"] == "note");
  CHECK(item["data"] == nlohmann::json({{"text", "hello world!"}, {"author", "ann"}}));
}

TEST_CASE("ids of successive publishes strictly increase") {
  ServerProcess server;
  std::uint64_t last = 0;
  for (int i = 0; i < 50; ++i) {
    const auto id = Publish(server.port(), std::to_string(i), i % 2 ? "odd" : "even");
    CHECK(id > last);
    last = id;
  }
}

TEST_CASE("refused publishes answer a JSON error and change nothing") {
  ServerProcess server({"--max-body", "1024"});
  Publish(server.port(), "\"kept\"");
  struct Case {
    std::string name, method, content_type, body, extra_headers;
    int status;
  };
  const Case cases[] = {
      {"malformed JSON", "POST", "application/json", "{\"data\":", "", 400},
      {"not an object", "POST", "application/json", "[1,2]", "", 400},
      {"missing data", "POST", "application/json", "{\"type\":\"x\"}", "", 400},
      {"unknown field", "POST", "application/json", "{\"data\":1,\"dta\":2}", "", 400},
      {"bad channel", "POST", "application/json", "{\"data\":1,\"channel\":\"no spaces\"}", "",
       400},
      {"type not a string", "POST", "application/json", "{\"data\":1,\"type\":5}", "", 400},
      {"invalid UTF-8", "POST", "application/json", "{\"data\":\"\xff\xfe\"}", "", 400},
      {"too deep", "POST", "application/json",
       "{\"data\":" + std::string(100, '[') + std::string(100, ']') + "}", "", 400},
      {"empty body", "POST", "application/json", "", "", 400},
      {"number out of range (found by the fuzzer)", "POST", "application/json",
       "{\"data\":-10e91999}", "", 400},
      {"oversize body", "POST", "application/json", "{\"data\":\"" + std::string(2000, 'a') + "\"}",
       "", 413},
      {"plain text", "POST", "text/plain", "hello", "", 415},
      {"no content type", "POST", "", "{\"data\":1}", "", 415},
      {"GET", "GET", "", "", "", 405},
      {"PUT", "PUT", "application/json", "{\"data\":1}", "", 405},
      {"DELETE", "DELETE", "", "", "", 405},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    HttpConnection connection(server.port());
    connection.Send(c.method, "/send_feed_item", c.body, c.content_type, c.extra_headers);
    auto response = connection.Read();
    CHECK(response.status == c.status);
    CHECK(response.Header("content-type") == "application/json");
    CHECK(response.Json()["error"].is_string());
    if (c.status == 405) CHECK(response.Header("allow") == "POST");
  }
  auto malformed = PostJson(server.port(), "{\"data\":");
  CHECK(malformed.Json()["error"].get<std::string>().find("parse error") != std::string::npos);
  CHECK(RetainedCount(server.port()) == 1);
}

TEST_CASE("a body without Content-Length is refused with 411, a chunked one is read and limited") {
  ServerProcess server({"--max-body", "1024"});
  {
    HttpConnection connection(server.port());
    connection.SendRaw(
        "POST /send_feed_item HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\r\n");
    CHECK(connection.Read().status == 411);
  }
  {
    HttpConnection connection(server.port());
    const std::string body = "{\"data\":\"chunked\"}";
    char size[16];
    std::snprintf(size, sizeof size, "%zx", body.size());
    connection.SendRaw(
        "POST /send_feed_item HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n" +
        std::string(size) + "\r\n" + body + "\r\n0\r\n\r\n");
    CHECK(connection.Read().status == 200);
  }
  {
    HttpConnection connection(server.port());
    const std::string chunk(800, 'a');
    connection.SendRaw(
        "POST /send_feed_item HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n320\r\n" +
        chunk + "\r\n320\r\n" + chunk + "\r\n0\r\n\r\n");
    CHECK(connection.Read().status == 413);
  }
  CHECK(RetainedCount(server.port()) == 1);
}
