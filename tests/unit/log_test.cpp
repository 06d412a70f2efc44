// The log's two formats: the access line as text and as JSON (one function builds both),
// token redaction, and what reaches stderr once a format is set.
#include "log.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

namespace livefeed {
namespace {

using std::chrono::system_clock;

// 2024-05-01T12:34:56.789Z
const system_clock::time_point kTime =
    system_clock::time_point(std::chrono::milliseconds(1714566896789));

AccessRecord Record() {
  return {.time = kTime,
          .request_id = "4f3c2a",
          .client = "203.0.113.7",
          .method = "GET",
          .target = "/real_time_feed/stream?channel=news&token=s3cret&since=5",
          .status = 200,
          .bytes = 1234,
          .duration = std::chrono::microseconds(12345)};
}

// What `write` sends to stderr, read back from a temporary file put in stderr's place.
std::string CaptureStderr(const std::function<void()>& write) {
  std::FILE* file = std::tmpfile();
  REQUIRE(file);
  const int saved = ::dup(STDERR_FILENO);
  ::dup2(::fileno(file), STDERR_FILENO);
  write();
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  std::string text;
  std::rewind(file);
  for (int c; (c = std::fgetc(file)) != EOF;) text += static_cast<char>(c);
  std::fclose(file);
  return text;
}

TEST_CASE("a JSON access line parses and holds every field, with the token redacted") {
  const std::string line = FormatAccessLine(Record(), LogFormat::kJson);
  REQUIRE(line.ends_with("}\n"));
  CHECK(std::count(line.begin(), line.end(), '\n') == 1);
  const nlohmann::json json = nlohmann::json::parse(line, nullptr, false);
  REQUIRE(json.is_object());
  CHECK(json["time"] == "2024-05-01T12:34:56.789Z");
  CHECK(json["level"] == "info");
  CHECK(json["request_id"] == "4f3c2a");
  CHECK(json["client"] == "203.0.113.7");
  CHECK(json["method"] == "GET");
  CHECK(json["path"] == "/real_time_feed/stream?channel=news&token=***&since=5");
  CHECK(json["status"] == 200);
  CHECK(json["bytes"] == 1234);
  CHECK(json["duration_ms"].get<double>() == doctest::Approx(12.345));
  CHECK(line.find("s3cret") == std::string::npos);
}

TEST_CASE("a text access line keeps the established shape and adds duration and request id") {
  CHECK(FormatAccessLine(Record(), LogFormat::kText) ==
        "2024-05-01T12:34:56.789Z info 203.0.113.7 "
        "\"GET /real_time_feed/stream?channel=news&token=***&since=5\" 200 1234 12.345ms 4f3c2a\n");
}

TEST_CASE("no field can split a line or break its JSON") {
  AccessRecord record = Record();
  record.client = "evil\n2024-01-01T00:00:00.000Z info forged";
  record.target = "/a\"b\\c\r\x01\xff";
  record.request_id = "";
  const std::string json_line = FormatAccessLine(record, LogFormat::kJson);
  CHECK(std::count(json_line.begin(), json_line.end(), '\n') == 1);
  const nlohmann::json json = nlohmann::json::parse(json_line, nullptr, false);
  REQUIRE(json.is_object());
  CHECK(json["client"] == "evil\n2024-01-01T00:00:00.000Z info forged");
  CHECK(json["path"] == "/a\"b\\c\r\x01\u00ff");  // Bytes past ASCII read as Latin-1.
  CHECK(json["request_id"] == "");

  const std::string text_line = FormatAccessLine(record, LogFormat::kText);
  CHECK(std::count(text_line.begin(), text_line.end(), '\n') == 1);
  CHECK(text_line.find("evil\\x0a2024") != std::string::npos);
  CHECK(text_line.find("\"GET /a\\\"b\\\\c\\x0d\\x01\xff\" 200") != std::string::npos);
}

TEST_CASE("only token values are redacted, wherever the parameter is") {
  CHECK(RedactToken("/s?token=abc") == "/s?token=***");
  CHECK(RedactToken("/s?a=1&token=abc&b=2") == "/s?a=1&token=***&b=2");
  CHECK(RedactToken("/s?token=abc&token=def") == "/s?token=***&token=***");
  CHECK(RedactToken("/s?mytoken=abc&tokens=1") == "/s?mytoken=abc&tokens=1");
  CHECK(RedactToken("/token=abc") == "/token=abc");
  CHECK(RedactToken("") == "");
}

TEST_CASE("log formats are named text and json") {
  CHECK(ParseLogFormat("text") == LogFormat::kText);
  CHECK(ParseLogFormat("json") == LogFormat::kJson);
  CHECK_FALSE(ParseLogFormat("JSON"));
  CHECK_FALSE(ParseLogFormat(""));
}

TEST_CASE("with the JSON format set, every line on stderr is a JSON object") {
  SetLogFormat(LogFormat::kJson);
  const std::string out = CaptureStderr([] {
    Log(LogLevel::kWarn, "disk \"almost\" full");
    LogAccess(Record());
  });
  SetLogFormat(LogFormat::kText);
  const std::size_t newline = out.find('\n');
  REQUIRE(newline != std::string::npos);
  const auto first = nlohmann::json::parse(out.substr(0, newline), nullptr, false);
  const auto second = nlohmann::json::parse(out.substr(newline + 1), nullptr, false);
  REQUIRE(first.is_object());
  CHECK(first["level"] == "warn");
  CHECK(first["message"] == "disk \"almost\" full");
  REQUIRE(second.is_object());
  CHECK(second["request_id"] == "4f3c2a");

  const std::string text = CaptureStderr([] { Log(LogLevel::kWarn, "plain"); });
  CHECK(text.ends_with(" warn plain\n"));
}

TEST_CASE("access lines are not written when info is not enabled") {
  SetLogLevel(LogLevel::kWarn);
  const std::string out = CaptureStderr([] { LogAccess(Record()); });
  SetLogLevel(LogLevel::kInfo);
  CHECK(out.empty());
}

}  // namespace
}  // namespace livefeed
