// Taking requests in on the event loop: pipelined and back-to-back requests in order, a slow
// body that delays nobody, idle connections that cost no thread, and batch publishing.
// Real binary, real sockets.
#include <dirent.h>
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "support/feed_helpers.h"

using namespace livefeed::testing;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

int ThreadCount(const ServerProcess& server) {
  int count = 0;
  DIR* dir = ::opendir(("/proc/" + std::to_string(server.pid()) + "/task").c_str());
  if (!dir) return -1;
  while (const dirent* entry = ::readdir(dir)) count += entry->d_name[0] != '.';
  ::closedir(dir);
  return count;
}

std::string PublishRequest(const std::string& body, const std::string& extra = "") {
  return "POST /send_feed_item HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + extra +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

}  // namespace

TEST_CASE("pipelined requests on one connection are answered in order") {
  ServerProcess server;
  HttpConnection connection(server.port());
  connection.SendRaw("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" +
                     PublishRequest("{\"data\":\"first\"}") +
                     PublishRequest("{\"data\":\"second\"}") +
                     "GET /real_time_feed?since=0 HTTP/1.1\r\nHost: x\r\n\r\n"
                     "HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(connection.Read().Json()["status"] == "ok");
  const auto first = connection.Read().Json()["id"];
  const auto second = connection.Read().Json()["id"];
  CHECK(second > first);
  const json items = connection.Read().Json()["items"];
  REQUIRE(items.size() == 2);
  CHECK(items[0]["data"] == "first");
  CHECK(items[1]["data"] == "second");
  HttpResponse head = connection.ReadHead();  // HEAD: the head alone, with GET's length.
  CHECK(head.status == 200);
  CHECK(head.Header("content-length") != "0");
  CHECK(connection.Read().status == 404);
}

TEST_CASE("back-to-back requests on a kept-alive connection are each answered") {
  ServerProcess server;
  HttpConnection connection(server.port());
  for (int i = 0; i < 100; ++i) {
    REQUIRE(connection.SendRaw(PublishRequest("{\"data\":" + std::to_string(i) + "}")));
    REQUIRE(connection.Read().status == 200);
  }
  CHECK(Get(server.port(), "/real_time_feed?since=0").Json()["items"].size() == 100);
}

TEST_CASE("an HTTP/1.0 client that asks for keep-alive is told so, and kept") {
  ServerProcess server;
  HttpConnection connection(server.port());
  for (int i = 0; i < 2; ++i) {
    REQUIRE(connection.SendRaw("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    const HttpResponse answer = connection.Read();
    REQUIRE(answer.status == 200);
    CHECK(answer.Header("connection") == "keep-alive");
  }
  // Without asking, an HTTP/1.0 client is answered and closed.
  REQUIRE(connection.SendRaw("GET /healthz HTTP/1.0\r\n\r\n"));
  CHECK(connection.Read().Header("connection") == "close");
  CHECK(connection.WaitForClose(seconds(10)));
}

TEST_CASE("a request refused from its head is closed when the client did not ask to keep it") {
  ServerProcess server;
  // HTTP/1.1 with Connection: close; the refusal (415) is decided before any body.
  HttpConnection closing(server.port());
  REQUIRE(
      closing.SendRaw("POST /send_feed_item HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                      "Connection: close\r\n\r\n"));
  HttpResponse answer = closing.Read();
  CHECK(answer.status == 415);
  CHECK(answer.Header("connection") == "close");
  CHECK(closing.WaitForClose(seconds(10)));
  // HTTP/1.0 without keep-alive, refused for its method.
  HttpConnection old(server.port());
  REQUIRE(old.SendRaw("DELETE /real_time_feed HTTP/1.0\r\n\r\n"));
  answer = old.Read();
  CHECK(answer.status == 405);
  CHECK(answer.Header("connection") == "close");
  CHECK(old.WaitForClose(seconds(10)));
}

TEST_CASE("a body arriving slowly, in pieces over 2 s, is served, and delays nobody else") {
  ServerProcess server;
  const std::string body = "{\"data\":\"" + std::string(400, 's') + "\"}";
  const std::string request = PublishRequest(body);
  HttpConnection slow(server.port());
  const std::size_t head = request.size() - body.size();
  REQUIRE(slow.SendRaw(request.substr(0, head)));
  int pieces = 0, served_meanwhile = 0;
  for (std::size_t sent = 0; sent < body.size(); sent += 50, ++pieces) {
    REQUIRE(slow.SendRaw(body.substr(sent, 50)));
    // Others are answered while the body trickles in.
    served_meanwhile += PostJson(server.port(), "{\"data\":\"quick\"}").status == 200;
    std::this_thread::sleep_for(milliseconds(250));  // The slow sender's pace.
  }
  HttpResponse answer = slow.Read();
  CHECK(answer.status == 200);
  CHECK(served_meanwhile == pieces);
  const json items = Get(server.port(), "/real_time_feed?since=0").Json()["items"];
  CHECK(std::count_if(items.begin(), items.end(), [&](const json& item) {
          return item["data"] == std::string(400, 's');
        }) == 1);
}

TEST_CASE(
    "a body still not whole --body-timeout after its head is refused with 408, then the end") {
  ServerProcess server({"--body-timeout", "3"});
  HttpConnection slow(server.port());
  REQUIRE(slow.SendRaw(PublishRequest(std::string(100, ' ')).substr(0, 120)));
  const auto sent = std::chrono::steady_clock::now();
  // A byte every half second: the connection is never quiet for long, the body is never
  // whole.
  HttpResponse answer;
  while (answer.status == 0 && !slow.eof()) {
    REQUIRE(std::chrono::steady_clock::now() - sent < seconds(60));
    answer = slow.Read(std::chrono::milliseconds(500));
    if (answer.status == 0) slow.SendRaw(" ");
  }
  CHECK(answer.status == 408);
  // The limit is on the body as a whole, not on each pause: it cannot come sooner.
  CHECK(std::chrono::steady_clock::now() - sent >= std::chrono::milliseconds(2900));
  CHECK(slow.WaitForClose(seconds(10)));
  CHECK(Get(server.port(), "/real_time_feed?since=0&timeout=0").Json()["items"].empty());
}

TEST_CASE("a flood of idle connections costs no threads") {
  ServerProcess server;
  const int before = ThreadCount(server);
  REQUIRE(before > 0);
  std::vector<std::unique_ptr<HttpConnection>> idle;
  for (int i = 0; i < 500; ++i) {
    idle.push_back(std::make_unique<HttpConnection>(server.port()));
    // Half of them made one request and stayed (keep-alive), half said nothing yet.
    if (i % 2) {
      idle.back()->Send("GET", "/healthz");
      REQUIRE(idle.back()->Read().status == 200);
    }
  }
  REQUIRE(WaitUntil([&] { return Health(server.port())["connections"] >= 500; }));
  CHECK(ThreadCount(server) == before);
  // And everyone is still served.
  CHECK(PostJson(server.port(), "{\"data\":1}").status == 200);
}

TEST_CASE("a batch publish gets consecutive ids, answered per item, all delivered in order") {
  ServerProcess server;
  HttpResponse answer =
      PostJson(server.port(), R"([{"data":1},{"data":2,"channel":"b"},{"data":3}])");
  REQUIRE(answer.status == 200);
  const json items = answer.Json()["items"];
  REQUIRE(items.size() == 3);
  for (int i = 1; i < 3; ++i) {
    CHECK(items[i]["id"].get<std::uint64_t>() == items[0]["id"].get<std::uint64_t>() + i);
  }
  CHECK(items[1]["channel"] == "b");
  const json read = Get(server.port(), "/real_time_feed?since=0&channel=default,b").Json()["items"];
  REQUIRE(read.size() == 3);
  CHECK(read[2]["data"] == 3);
}

TEST_CASE("one bad item refuses the whole batch, nothing of it is kept") {
  ServerProcess server;
  HttpResponse answer = PostJson(server.port(), R"([{"data":1},{"nodata":2},{"data":3}])");
  CHECK(answer.status == 400);
  CHECK(answer.Json()["error"].get<std::string>().find("item 1") != std::string::npos);
  CHECK(Get(server.port(), "/real_time_feed?since=0&timeout=1").Json()["items"].empty());
}

TEST_CASE("a batch larger than --max-batch is refused with 413") {
  ServerProcess server({"--max-batch", "3"});
  CHECK(PostJson(server.port(), R"([{"data":1},{"data":2},{"data":3},{"data":4}])").status == 413);
  CHECK(PostJson(server.port(), R"([{"data":1},{"data":2},{"data":3}])").status == 200);
}

TEST_CASE("a batch with more items for one channel than --backlog keeps is refused whole, 507") {
  ServerProcess server({"--backlog", "3"});
  const HttpResponse refused =
      PostJson(server.port(), R"([{"data":1},{"data":2},{"data":3},{"data":4}])");
  CHECK(refused.status == 507);
  CHECK(refused.Json()["error"].get<std::string>().find("--backlog") != std::string::npos);
  CHECK(Get(server.port(), "/real_time_feed?since=0&timeout=0").Json()["items"].empty());
  CHECK(PostJson(server.port(), R"([{"data":1},{"data":2},{"data":3}])").status == 200);
}

TEST_CASE("an idempotent retry of a batch answers the same ids and adds nothing") {
  ServerProcess server;
  const std::string body = R"([{"data":1},{"data":2}])";
  HttpConnection connection(server.port());
  connection.SendRaw(PublishRequest(body, "Idempotency-Key: batch-7\r\n"));
  HttpResponse first = connection.Read();
  connection.SendRaw(PublishRequest(body, "Idempotency-Key: batch-7\r\n"));
  HttpResponse retry = connection.Read();
  REQUIRE(first.status == 200);
  REQUIRE(retry.status == 200);
  CHECK(retry.Json() == first.Json());
  CHECK(retry.Header("idempotent-replayed") == "true");
  connection.SendRaw(PublishRequest(R"([{"data":9}])", "Idempotency-Key: batch-7\r\n"));
  CHECK(connection.Read().status == 422);
  CHECK(Get(server.port(), "/real_time_feed?since=0").Json()["items"].size() == 2);
}

TEST_CASE("a publish that expects 100-continue is told to go on, then answered") {
  ServerProcess server;
  const std::string body = "{\"data\":\"" + std::string(2000, 'c') + "\"}";
  HttpConnection connection(server.port());
  connection.SendRaw(
      "POST /send_feed_item HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Expect: 100-continue\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n");
  HttpResponse go_on = connection.ReadHead(seconds(10));
  CHECK(go_on.status == 100);
  connection.SendRaw(body);
  CHECK(connection.Read().status == 200);
  // Refused from its head, it is answered at once: no 100, and its body is not waited for.
  HttpConnection refused(server.port());
  refused.SendRaw(
      "POST /send_feed_item HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
      "Expect: 100-continue\r\nContent-Length: 10\r\n\r\n");
  CHECK(refused.Read(seconds(10)).status == 415);
}
