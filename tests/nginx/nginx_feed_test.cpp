// The feed through the shipped nginx config (nginx/livefeed.conf run by scripts/nginx): what
// a default proxy setup breaks for held requests, checked against real nginx.
#include <doctest/doctest.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <vector>

#include "support/feed_helpers.h"
#include "support/nginx_process.h"

using namespace livefeed::testing;
using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;

namespace {

// Reads the connection's raw bytes into `text` until it contains `needle` or `timeout`
// passes; returns whether it does. For streams, which never end.
bool ReadUntil(HttpConnection& connection, std::string& text, const std::string& needle,
               milliseconds timeout = seconds(10)) {
  const auto deadline = steady_clock::now() + timeout;
  while (text.find(needle) == std::string::npos) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{connection.fd(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char chunk[16384];
    const ssize_t n = ::recv(connection.fd(), chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    text.append(chunk, static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

TEST_CASE("a long-poll held longer than 60 s is answered by livefeed, not with 504") {
  ServerProcess server({"--poll-timeout", "65"});
  NginxProcess nginx({server.port()});
  const auto since = Publish(server.port(), "1");

  HttpConnection client(nginx.port());
  const auto start = steady_clock::now();
  client.Send("GET", "/real_time_feed?timeout=65&since=" + std::to_string(since));
  HttpResponse answer = client.Read(seconds(100));
  const auto held = std::chrono::duration_cast<milliseconds>(steady_clock::now() - start);

  MESSAGE("long-poll through nginx held for " << held.count() << " ms");
  REQUIRE_MESSAGE(answer.status == 200, answer.body << "\nnginx access log:\n"
                                                    << nginx.AccessLog());
  CHECK(held >= seconds(64));
  CHECK(answer.Json()["items"].empty());
  CHECK(answer.Json()["cursor"] == since);
}

TEST_CASE("a stream event reaches the client through nginx as soon as it is published") {
  ServerProcess server;
  NginxProcess nginx({server.port()});
  HttpConnection stream(nginx.port());
  // As browsers do: a compressed stream would arrive only when the compressor's buffer fills.
  stream.Send("GET", "/real_time_feed/stream", "", "", "Accept-Encoding: gzip\r\n");
  std::string text;
  REQUIRE(ReadUntil(stream, text, "\r\n\r\n"));
  CHECK(text.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(text.find("Content-Type: text/event-stream") != std::string::npos);
  CHECK(text.find("Content-Encoding") == std::string::npos);
  REQUIRE(WaitForWaiters(server.port(), 1));

  // From the publish (straight to livefeed, so only the stream goes through nginx) to the
  // event's arrival. A buffering proxy would hold the events until 4-8 KiB had gathered,
  // i.e. for the whole test. The bound is generous on purpose (timings belong in
  // benchmarks); the measured values are printed. livefeed wakes the stream before it
  // answers the publish, so the event is often there before the publish's answer.
  std::vector<long> after_return_us, after_send_us;
  for (int i = 0; i < 5; ++i) {
    const auto sent = steady_clock::now();
    const auto id = Publish(server.port(), std::to_string(i));
    const auto returned = steady_clock::now();
    REQUIRE_MESSAGE(ReadUntil(stream, text, "\"id\":" + std::to_string(id)),
                    "event " << id << " did not arrive; received:\n"
                             << text);
    const auto arrived = steady_clock::now();
    after_return_us.push_back(
        std::chrono::duration_cast<std::chrono::microseconds>(arrived - returned).count());
    after_send_us.push_back(
        std::chrono::duration_cast<std::chrono::microseconds>(arrived - sent).count());
    CHECK(arrived - returned < milliseconds(1000));
  }
  std::sort(after_return_us.begin(), after_return_us.end());
  std::sort(after_send_us.begin(), after_send_us.end());
  MESSAGE("event through nginx, 5 publishes: publish-return to arrival median "
          << after_return_us[2] << " us, max " << after_return_us[4]
          << " us; publish-sent to arrival median " << after_send_us[2] << " us, max "
          << after_send_us[4] << " us");
}

TEST_CASE("a stream through nginx resumes after Last-Event-ID") {
  ServerProcess server;
  NginxProcess nginx({server.port()});
  const auto first = Publish(server.port(), "1");
  const auto second = Publish(server.port(), "2");
  const auto third = Publish(server.port(), "3");

  HttpConnection stream(nginx.port());
  stream.Send("GET", "/real_time_feed/stream", "", "",
              "Last-Event-ID: " + std::to_string(first) + "\r\n");
  std::string text;
  REQUIRE_MESSAGE(ReadUntil(stream, text, "\"id\":" + std::to_string(third)), text);
  CHECK(text.find("id: " + std::to_string(second) + "\n") != std::string::npos);
  CHECK(text.find("id: " + std::to_string(second)) < text.find("id: " + std::to_string(third)));
  CHECK(text.find("id: " + std::to_string(first) + "\n") == std::string::npos);
  CHECK(text.find("event: truncated") == std::string::npos);
}

TEST_CASE("a publish through nginx of up to --max-body bytes reaches livefeed") {
  ServerProcess server;
  NginxProcess nginx({server.port()});
  // {"data":"xxx..."} of exactly 65536 bytes: the largest body both allow.
  const std::string body = "{\"data\":\"" + std::string(65536 - 11, 'x') + "\"}";
  REQUIRE(body.size() == 65536);

  HttpResponse answer = PostJson(nginx.port(), body);
  REQUIRE_MESSAGE(answer.status == 200, answer.body);
  auto backlog = Get(server.port(), "/real_time_feed?since=0").Json();
  REQUIRE(backlog["items"].size() == 1);
  CHECK(backlog["items"][0]["id"] == answer.Json()["id"]);
  CHECK(backlog["items"][0]["data"].get<std::string>().size() == 65536 - 11);
}

TEST_CASE("a publish body over 64 KiB is refused by nginx with 413 in livefeed's error shape") {
  ServerProcess server;
  NginxProcess nginx({server.port()});
  const std::string body = "{\"data\":\"" + std::string(65536 - 10, 'x') + "\"}";

  HttpResponse answer = PostJson(nginx.port(), body);
  CHECK(answer.status == 413);
  CHECK(answer.Header("content-type") == "application/json");
  CHECK(answer.Json()["error"].is_string());
  // Refused before it was forwarded (an empty backlog answers at the 1 s timeout).
  CHECK(Get(server.port(), "/real_time_feed?since=0&timeout=1").Json()["items"].empty());
}

TEST_CASE("a client that leaves a long-poll held through nginx frees its place in livefeed") {
  ServerProcess server;
  NginxProcess nginx({server.port()});
  HttpConnection client(nginx.port());
  client.Send("GET", "/real_time_feed");
  REQUIRE(WaitForWaiters(server.port(), 1));

  client.Close();
  CHECK(WaitForWaiters(server.port(), 0));
}

TEST_CASE("without a reachable livefeed nginx answers 502 in livefeed's error shape") {
  NginxProcess nginx({FreeLoopbackPort()});
  HttpResponse answer = Get(nginx.port(), "/real_time_feed");
  CHECK(answer.status == 502);
  CHECK(answer.Header("content-type") == "application/json");
  CHECK(answer.Json()["error"].is_string());
}

TEST_CASE("nginx serves web/ itself") {
  NginxProcess nginx({FreeLoopbackPort()});
  HttpResponse page = Get(nginx.port(), "/");
  CHECK(page.status == 200);
  CHECK(page.Header("content-type") == "text/html");
  CHECK(page.body.find("client.js") != std::string::npos);
  CHECK(Get(nginx.port(), "/client.js").Header("content-type") == "application/javascript");
}

TEST_CASE("nginx's request id reaches livefeed, and /metrics and /channels stay private") {
  ServerProcess server({"--log-level", "info"});
  NginxProcess nginx({server.port()});
  // The client's own id is replaced by nginx's, which livefeed keeps and answers with.
  HttpConnection client(nginx.port());
  client.Send("GET", "/healthz", "", "", "X-Request-Id: from-the-client\r\n");
  const HttpResponse health = client.Read();
  REQUIRE(health.status == 200);
  const std::string id = health.Header("x-request-id");
  CHECK(id.size() == 32);
  // Each writes its line once the answer is sent.
  CHECK(WaitUntil([&] { return nginx.AccessLog().find("request_id=" + id) != std::string::npos; }));
  CHECK(WaitUntil([&] { return server.Log().find(id) != std::string::npos; }));

  // Not forwarded unless the operator opts in (livefeed-locations.conf).
  for (const char* target : {"/metrics", "/channels", "/channels/default"}) {
    CAPTURE(target);
    CHECK(Get(nginx.port(), target).status == 404);
  }
  CHECK(Get(server.port(), "/metrics").status == 200);
}
