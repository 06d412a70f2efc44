// SIGHUP against the real binary: the options are read again and what can change is applied
// while every held long-poll and stream stays connected; the log says what was reloaded.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstdlib>
#include <memory>
#include <vector>

#include "support/feed_helpers.h"
#include "support/sse_client.h"
#include "support/temp_dir.h"

using namespace livefeed::testing;
using std::chrono::seconds;

namespace {

HttpResponse PublishWithToken(int port, const std::string& token, const std::string& channel) {
  HttpConnection connection(port);
  connection.Send("POST", "/send_feed_item?channel=" + channel, "{\"data\":\"" + token + "\"}",
                  "application/json", "Authorization: Bearer " + token + "\r\n");
  return connection.Read();
}

// Sends SIGHUP and waits for the server to log the outcome of that reload (its n-th).
bool Reload(ServerProcess& server, const std::string& outcome, int nth = 1) {
  ::kill(server.pid(), SIGHUP);
  return WaitUntil([&] {
    const std::string log = server.Log();
    int seen = 0;
    for (std::size_t at = log.find(outcome); at != std::string::npos;
         at = log.find(outcome, at + 1)) {
      ++seen;
    }
    return seen >= nth;
  });
}

}  // namespace

TEST_CASE(
    "SIGHUP with 200 held polls and 20 streams: a new publish token at once, nobody dropped") {
  TempDir dir;
  const std::string token = dir.Write("publish.token", "first-token\n");
  const std::string config = dir.Write(
      "livefeed.conf", "publish-token-file = " + token + "\nlog-level = warn\nbacklog = 1000\n");
  ServerProcess server({"--config", config});
  constexpr int kPolls = 200;
  constexpr int kStreams = 20;
  auto [polls, streams] = HoldClients(server.port(), kPolls, kStreams, "channel=held");
  HttpConnection health(server.port());
  REQUIRE(WaitForCounts(health, kPolls + kStreams, kPolls + kStreams + 1));
  REQUIRE(PublishWithToken(server.port(), "first-token", "other").status == 200);

  dir.Write("publish.token", "second-token\n");
  dir.Write("livefeed.conf", "publish-token-file = " + token + "\nlog-level = info\nbacklog = 5\n");
  REQUIRE(Reload(server, "reloaded:"));
  CHECK(PublishWithToken(server.port(), "first-token", "other").status == 403);
  CHECK(PublishWithToken(server.port(), "second-token", "other").status == 200);
  CHECK(server.Log().find("reloaded: log-level, publish-token; not applied until a restart: "
                          "backlog (running 1000, configured 5)") != std::string::npos);
  CHECK(server.Log().find("second-token") == std::string::npos);

  // Every held client is still there, and gets the next item on its channel.
  CHECK(WaitForCounts(health, kPolls + kStreams, kPolls + kStreams + 1));
  REQUIRE(PublishWithToken(server.port(), "second-token", "held").status == 200);
  int answered = 0;
  for (auto& poll : polls) {
    HttpResponse response = poll->Read(seconds(10));
    if (response.status == 200 && response.Json()["items"].size() == 1) ++answered;
  }
  CHECK(answered == kPolls);
  int delivered = 0;
  for (auto& stream : streams) {
    std::optional<SseEvent> event = stream->NextEvent(seconds(10));
    if (event && event->Json()["data"] == "second-token") ++delivered;
  }
  CHECK(delivered == kStreams);
}

TEST_CASE("a reload with an invalid config file keeps the running settings") {
  TempDir dir;
  const std::string config = dir.Write("livefeed.conf", "publish-token = kept\n");
  ServerProcess server({"--config", config, "--log-level", "info"});
  dir.Write("livefeed.conf", "publish-token = changed\npoll-timeout = 0\n");
  REQUIRE(Reload(server, "reload failed"));
  CHECK(server.Log().find("--poll-timeout") != std::string::npos);
  CHECK(PublishWithToken(server.port(), "kept", "default").status == 200);
  CHECK(PublishWithToken(server.port(), "changed", "default").status == 403);

  // Fixed, the next reload applies it.
  dir.Write("livefeed.conf", "publish-token = changed\n");
  REQUIRE(Reload(server, "reloaded: publish-token"));
  CHECK(PublishWithToken(server.port(), "changed", "default").status == 200);
}

TEST_CASE("a reload applies new CORS origins to the next preflight") {
  TempDir dir;
  const std::string config = dir.Write("livefeed.conf", "cors-origin = https://a.example\n");
  ServerProcess server({"--config", config, "--log-level", "info"});
  auto preflight = [&](const std::string& origin) {
    HttpConnection connection(server.port());
    connection.Send("OPTIONS", "/real_time_feed", "", "",
                    "Origin: " + origin + "\r\nAccess-Control-Request-Method: GET\r\n");
    return connection.Read().Header("access-control-allow-origin");
  };
  CHECK(preflight("https://a.example") == "https://a.example");
  CHECK(preflight("https://b.example").empty());
  dir.Write("livefeed.conf", "cors-origin = https://b.example\n");
  REQUIRE(Reload(server, "reloaded: cors-origin"));
  CHECK(preflight("https://a.example").empty());
  CHECK(preflight("https://b.example") == "https://b.example");
}

// What systemd (Type=notify) hears, on a datagram socket of the test's own named by
// NOTIFY_SOCKET, as systemd sets it.
TEST_CASE(
    "systemd is told READY=1 once listening, RELOADING=1 then READY=1 on SIGHUP, STOPPING=1") {
  TempDir dir;
  const std::string path = dir / "notify";
  const int socket_fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  path.copy(address.sun_path, sizeof address.sun_path - 1);
  REQUIRE(::bind(socket_fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  auto next_message = [&] {
    std::string message;
    WaitUntil([&] {
      char buffer[512];
      const ssize_t n = ::recv(socket_fd, buffer, sizeof buffer, MSG_DONTWAIT);
      if (n > 0) message.assign(buffer, static_cast<std::size_t>(n));
      return n > 0;
    });
    return message;
  };
  ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
  ServerProcess server;
  ::unsetenv("NOTIFY_SOCKET");
  CHECK(next_message() == "READY=1");
  ::kill(server.pid(), SIGHUP);
  CHECK(next_message().rfind("RELOADING=1\nMONOTONIC_USEC=", 0) == 0);
  CHECK(next_message() == "READY=1");
  CHECK(server.Stop(SIGTERM) == 0);
  CHECK(next_message() == "STOPPING=1");
  ::close(socket_fd);
}
