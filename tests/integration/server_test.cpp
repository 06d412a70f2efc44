// The binary as an operator meets it: options, health, static files, limits, shutdown.
#include <doctest/doctest.h>
#include <signal.h>

#include <fstream>
#include <memory>
#include <vector>

#include "support/feed_helpers.h"
#include "support/sse_client.h"

using namespace livefeed::testing;
using std::chrono::seconds;

TEST_CASE("--help lists every option with its default and exits 0") {
  ExitResult result = RunToExit({"--help"}, seconds(10));
  CHECK(result.exit_code == 0);
  for (const char* option :
       {"--bind", "--port", "--backlog", "--backlog-max-age", "--poll-timeout", "--max-body",
        "--max-connections", "--web-root", "--log-level", "--config"}) {
    CAPTURE(option);
    CHECK(result.output.find(option) != std::string::npos);
  }
  CHECK(result.output.find("8001") != std::string::npos);
}

TEST_CASE("bad options exit 2 with a message naming the problem") {
  struct Case {
    std::vector<std::string> args, env;
    std::string expected;
  };
  const Case cases[] = {
      {{"--no-such-option"}, {}, "no-such-option"},
      {{"--port", "abc"}, {}, "port"},
      {{"--port", "70000"}, {}, "--port"},
      {{"--poll-timeout", "0"}, {}, "--poll-timeout"},
      {{"--log-level", "loud"}, {}, "--log-level"},
      {{"--config", "/nonexistent/livefeed.conf"}, {}, "config"},
      {{}, {"LIVEFEED_BACKLOG=many"}, "backlog"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.expected);
    ExitResult result = RunToExit(c.args, seconds(10), c.env);
    CHECK(result.exit_code == 2);
    CHECK(result.output.find(c.expected) != std::string::npos);
  }
}

TEST_CASE("the command line beats the environment, which beats the config file") {
  const std::string path = "/tmp/livefeed-config-test-" + std::to_string(::getpid()) + ".conf";
  std::ofstream(path) << "# a comment\npoll-timeout = 7\nbacklog = 42\n";
  ServerProcess from_file({"--config", path});
  CHECK(from_file.startup_line().find("poll-timeout=7s") != std::string::npos);
  CHECK(from_file.startup_line().find("backlog=42") != std::string::npos);
  ServerProcess overridden({"--config", path, "--poll-timeout", "9"});
  CHECK(overridden.startup_line().find("poll-timeout=9s") != std::string::npos);
  ::unlink(path.c_str());
}

TEST_CASE("healthz answers 200 with the number of held requests") {
  ServerProcess server;
  auto response = Get(server.port(), "/healthz");
  CHECK(response.status == 200);
  CHECK(response.Json()["status"] == "ok");
  CHECK(response.Json()["store"] == "up");
  CHECK(response.Json()["waiting"] == 0);
}

TEST_CASE("the web root is served at / and unknown paths get a JSON 404") {
  ServerProcess server({"--web-root", LIVEFEED_SOURCE_DIR "/web"});
  auto index = Get(server.port(), "/");
  CHECK(index.status == 200);
  CHECK(index.Header("content-type").find("text/html") == 0);
  // Kept alive as every answer of ours is: for as many requests as the client sends.
  CHECK(index.Header("keep-alive") == "timeout=75");
  CHECK(index.Header("connection") == "keep-alive");
  auto missing = Get(server.port(), "/no-such-page");
  CHECK(missing.status == 404);
  CHECK(missing.Json()["error"].is_string());
  // The web root is a jail: nothing above it is reachable.
  for (const char* target :
       {"/../CMakeLists.txt", "/%2e%2e/CMakeLists.txt", "/..%2fCMakeLists.txt"}) {
    CAPTURE(target);
    auto escape = Get(server.port(), target);
    CHECK(escape.status >= 400);
    CHECK(escape.body.find("cmake_minimum_required") == std::string::npos);
  }
}

TEST_CASE("a second server on a taken port fails to start instead of sharing it") {
  ServerProcess first;
  ExitResult second = RunToExit({"--port", std::to_string(first.port())}, seconds(10));
  CHECK(second.exit_code == 1);
  CHECK(second.output.find("cannot listen") != std::string::npos);
}

TEST_CASE(
    "beyond --max-connections a client gets 503 with Retry-After, and the others are served") {
  ServerProcess server({"--max-connections", "5"});
  const auto start = Publish(server.port(), "0");
  std::vector<std::unique_ptr<HttpConnection>> held;
  for (int i = 0; i < 4; ++i) {
    held.push_back(std::make_unique<HttpConnection>(server.port()));
    held.back()->Send("GET", "/real_time_feed?since=" + std::to_string(start));
  }
  // Four held plus this one make five: the sixth is refused.
  HttpConnection fifth(server.port());
  REQUIRE(WaitForCounts(fifth, 4, 5));
  auto refused = Get(server.port(), "/healthz");
  CHECK(refused.status == 503);
  CHECK(refused.Header("retry-after") == "1");
  CHECK(refused.Json()["error"].is_string());

  // The held clients are still answered by a publish made once a slot is free.
  fifth.Close();
  REQUIRE(WaitUntil([&] { return Get(server.port(), "/healthz").status == 200; }));
  REQUIRE(WaitUntil([&] { return PostJson(server.port(), "{\"data\":1}").status == 200; }));
  for (auto& client : held) CHECK(client->Read().Json()["items"].size() == 1);
}

TEST_CASE("SIGTERM answers every held poll and ends every stream, then exits 0 within 2 s") {
  ServerProcess server({"--poll-timeout", "600", "--ping-interval", "600"});
  constexpr int kPolls = 300;
  constexpr int kStreams = 50;
  auto [polls, streams] = HoldClients(server.port(), kPolls, kStreams, "channel=quiet");
  REQUIRE(WaitForWaiters(server.port(), kPolls + kStreams));
  const auto started = std::chrono::steady_clock::now();
  CHECK(server.Stop(SIGTERM, seconds(10)) == 0);
  CHECK(std::chrono::steady_clock::now() - started < seconds(2));
  int answered = 0;
  for (auto& client : polls) {
    auto response = client->Read(seconds(5));
    if (response.status == 200 && response.Json()["items"].empty()) ++answered;
  }
  CHECK(answered == kPolls);
  int ended = 0;
  for (auto& stream : streams) {
    while (stream->Next(seconds(5))) {
    }
    ended += stream->ended() ? 1 : 0;
  }
  CHECK(ended == kStreams);
}
