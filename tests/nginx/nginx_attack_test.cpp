// Attacks through the shipped nginx config in front of the real binary: what nginx lets
// through must still be refused by livefeed, and must not leak onto nginx's shared
// keep-alive connections to livefeed.
#include <doctest/doctest.h>

#include "support/feed_helpers.h"
#include "support/nginx_process.h"

using namespace livefeed::testing;
using std::chrono::seconds;

namespace {

const std::string kSmuggled =
    "POST /send_feed_item HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    "Content-Length: 20\r\n\r\n{\"data\":\"smuggled\"}";

std::size_t ItemCount(int port) {
  return Get(port, "/real_time_feed?since=0&timeout=1").Json()["items"].size();
}

}  // namespace

TEST_CASE("through nginx, POST //send_feed_item with a multipart body reaches no handler") {
  ServerProcess server;
  NginxProcess nginx({server.port()});
  const std::string body = "--b\r\nContent-Disposition: form-data; name=\"" +
                           std::string(4000, 'a') + "\"\r\n\r\n{\"data\":1}\r\n--b--\r\n";
  HttpConnection client(nginx.port());
  client.SendRaw(
      "POST //send_feed_item HTTP/1.1\r\nHost: x\r\n"
      "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body);
  HttpResponse response = client.Read(seconds(10));
  // nginx merges the slashes to pick its location but forwards the path as sent; livefeed
  // matches its paths exactly, so this is no publish.
  CHECK(response.status == 404);
  CHECK(response.Json()["error"].is_string());
  CHECK(ItemCount(server.port()) == 0);
  // Both still serve, and a real publish through nginx works.
  CHECK(Get(nginx.port(), "/healthz").status == 200);
  CHECK(PostJson(nginx.port(), "{\"data\":1}").status == 200);
}

TEST_CASE(
    "through nginx, a GET whose body carries a request smuggles nothing onto the shared upstream") {
  ServerProcess server;
  NginxProcess nginx({server.port()});
  // Warm the upstream keep-alive connections, so the attack rides on a shared one.
  for (int i = 0; i < 3; ++i) REQUIRE(Get(nginx.port(), "/healthz").status == 200);
  for (const char* target :
       {"/real_time_feed?since=0&timeout=1", "/real_time_feed/stream", "/healthz"}) {
    CAPTURE(target);
    HttpConnection attacker(nginx.port());
    attacker.SendRaw(std::string("GET ") + target + " HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                     std::to_string(kSmuggled.size()) + "\r\n\r\n" + kSmuggled);
    HttpResponse response = attacker.Read(seconds(10));
    CHECK(response.status == 400);
    // Another client on the same nginx is answered as usual, with its own answers.
    HttpConnection bystander(nginx.port());
    bystander.Send("GET", "/healthz");
    HttpResponse health = bystander.Read(seconds(10));
    CHECK(health.status == 200);
    CHECK(health.Json()["status"] == "ok");
  }
  CHECK(ItemCount(server.port()) == 0);
}
