// One request must never take the server down. Each known attack on cpp-httplib 0.11.4 (see
// docs/security.md) and on request framing, sent to the real binary over a real socket:
// after each, the process is alive, /healthz answers on a new connection, nothing was
// smuggled through, and memory stayed flat where the attack is about memory.
#include <doctest/doctest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "support/feed_helpers.h"

using namespace livefeed::testing;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

void CheckAlive(const ServerProcess& server) {
  CHECK(::kill(server.pid(), 0) == 0);
  HttpResponse health = Get(server.port(), "/healthz", seconds(10));
  CHECK(health.status == 200);
}

// Resident memory of the server, in KiB.
long RssKiB(const ServerProcess& server) {
  std::ifstream status("/proc/" + std::to_string(server.pid()) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

// Sends `head`, then `chunk` repeatedly up to `total` bytes, as long as the server takes
// them within a second each time; returns what it took.
std::size_t Flood(HttpConnection& connection, const std::string& head, const std::string& chunk,
                  std::size_t total) {
  if (!connection.SendRaw(head)) return 0;
  std::size_t sent = 0;
  while (sent < total) {
    pollfd p{connection.fd(), POLLOUT, 0};
    if (::poll(&p, 1, 1000) <= 0 || (p.revents & (POLLERR | POLLHUP))) break;
    const ssize_t n = ::send(connection.fd(), chunk.data(), std::min(chunk.size(), total - sent),
                             MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n <= 0) {
      if (errno == EAGAIN) continue;
      break;
    }
    sent += static_cast<std::size_t>(n);
  }
  return sent;
}

// One request on a fresh connection: its response, and whether the server then closed.
struct Exchange {
  HttpResponse response;
  bool closed = false;
};
Exchange SendRaw(int port, const std::string& bytes) {
  HttpConnection connection(port);
  connection.SendRaw(bytes);
  Exchange exchange;
  exchange.response = connection.Read(seconds(10));
  exchange.closed = connection.WaitForClose(seconds(5));
  return exchange;
}

std::string GzipOfZeros(std::size_t size) {
  std::string zeros(size, '\0');
  uLongf length = compressBound(static_cast<uLong>(size));
  std::string out(length, '\0');
  z_stream stream{};
  deflateInit2(&stream, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY);  // gzip framing
  stream.next_in = reinterpret_cast<Bytef*>(zeros.data());
  stream.avail_in = static_cast<uInt>(size);
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(length);
  deflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

std::size_t ItemCount(int port) {
  return Get(port, "/real_time_feed?since=0&timeout=1").Json()["items"].size();
}

const std::string kSmuggled =
    "POST /send_feed_item HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    "Content-Length: 20\r\n\r\n{\"data\":\"smuggled\"}";

}  // namespace

TEST_CASE("a Range header of 250 ranges, or of 8 KiB, leaves the server up") {
  ServerProcess server;
  std::string ranges = "bytes=0-0";
  for (int i = 1; i < 250; ++i) ranges += ",0-0";
  std::string long_range = "bytes=0-";
  while (long_range.size() < 8000) long_range += "0";
  for (const std::string& range : {ranges, long_range}) {
    for (const char* target :
         {"/healthz", "/", "/client.js", "/real_time_feed?since=0&timeout=1"}) {
      CAPTURE(target);
      Exchange exchange =
          SendRaw(server.port(),
                  std::string("GET ") + target +
                      " HTTP/1.1\r\nHost: x\r\nConnection: close\r\nRange: " + range + "\r\n\r\n");
      CHECK(exchange.response.status == 200);
      CheckAlive(server);
    }
  }
}

TEST_CASE("a multipart part named with 4,000 characters is refused unread, wherever it goes") {
  ServerProcess server;
  const std::string body = "--b\r\nContent-Disposition: form-data; name=\"" +
                           std::string(4000, 'a') + "\"\r\n\r\nvalue\r\n--b--\r\n";
  for (const char* target : {"/anything", "/send_feed_item"}) {
    CAPTURE(target);
    Exchange exchange =
        SendRaw(server.port(),
                std::string("POST ") + target +
                    " HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                    "Content-Length: " +
                    std::to_string(body.size()) + "\r\n\r\n" + body);
    CHECK(exchange.response.status == (target == std::string("/anything") ? 404 : 415));
    CHECK(exchange.response.Json()["error"].is_string());
    CHECK(exchange.closed);
    CheckAlive(server);
  }
  // curl -F: a multipart publish is a clear 415, not a 500.
  Exchange form =
      SendRaw(server.port(),
              "POST /send_feed_item HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; "
              "boundary=x\r\nContent-Length: 0\r\n\r\n");
  CHECK(form.response.status == 415);
}

TEST_CASE("a GET whose body carries a second request gets one answer, then the connection ends") {
  ServerProcess server;
  for (const char* target : {"/index.html", "/real_time_feed?since=0&timeout=1",
                             "/real_time_feed/stream", "/healthz", "/nowhere"}) {
    CAPTURE(target);
    HttpConnection connection(server.port());
    connection.SendRaw(std::string("GET ") + target + " HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                       std::to_string(kSmuggled.size()) + "\r\n\r\n" + kSmuggled);
    HttpResponse response = connection.Read(seconds(10));
    CHECK(response.status == 400);
    CHECK(response.Header("connection") == "close");
    CHECK(connection.WaitForClose(seconds(5)));
    CHECK(connection.ReadSome(milliseconds(100)).empty());
  }
  CHECK(ItemCount(server.port()) == 0);
  CheckAlive(server);
}

TEST_CASE("8 MiB of chunk-size digits without a LF are refused after a few bytes") {
  ServerProcess server;
  const long before = RssKiB(server);
  for (const char* target : {"/send_feed_item", "/nowhere"}) {
    CAPTURE(target);
    HttpConnection connection(server.port());
    const std::size_t taken = Flood(connection,
                                    std::string("POST ") + target +
                                        " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                        "Transfer-Encoding: chunked\r\n\r\n",
                                    std::string(64 * 1024, '1'), 8 << 20);
    CHECK(taken < (8u << 20));
    HttpResponse response = connection.Read(seconds(10));
    CHECK(response.status >= 400);
    CHECK(response.status < 500);
    CheckAlive(server);
  }
  CHECK(RssKiB(server) - before < 4096);
}

TEST_CASE("a chunk size of -2 is refused") {
  ServerProcess server;
  Exchange exchange =
      SendRaw(server.port(),
              "POST /send_feed_item HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              "Transfer-Encoding: chunked\r\n\r\n-2\r\n{}\r\n0\r\n\r\n");
  CHECK(exchange.response.status == 400);
  CHECK(exchange.closed);
  CHECK(ItemCount(server.port()) == 0);
  CheckAlive(server);
}

TEST_CASE("64 MiB bodies to an unknown path are refused before they are read, memory stays flat") {
  ServerProcess server;
  const long before = RssKiB(server);
  const std::string chunk(64 * 1024, 'x');
  char size_line[32];
  std::snprintf(size_line, sizeof size_line, "%zx\r\n", chunk.size());
  const std::string framed_chunk = size_line + chunk + "\r\n";
  struct Attack {
    const char* name;
    std::string head, chunk;
  };
  for (const Attack& attack :
       {Attack{"chunked", "POST /nowhere HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
               framed_chunk},
        Attack{"no length", "POST /nowhere HTTP/1.1\r\nHost: x\r\n\r\n", chunk},
        Attack{"with length",
               "POST /nowhere HTTP/1.1\r\nHost: x\r\nContent-Length: 67108864\r\n\r\n", chunk}}) {
    CAPTURE(attack.name);
    HttpConnection connection(server.port());
    const std::size_t taken = Flood(connection, attack.head, attack.chunk, 64u << 20);
    CHECK(taken < (8u << 20));
    CheckAlive(server);
  }
  CHECK(RssKiB(server) - before < 8192);
}

TEST_CASE("a gzip bomb is refused before a byte of it is read") {
  ServerProcess server;
  const std::string bomb = GzipOfZeros(60u << 20);
  REQUIRE(bomb.size() < 100 * 1024);
  for (const char* target : {"/send_feed_item", "/nowhere"}) {
    CAPTURE(target);
    Exchange exchange =
        SendRaw(server.port(), std::string("POST ") + target +
                                   " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                   "Content-Encoding: gzip\r\nContent-Length: " +
                                   std::to_string(bomb.size()) + "\r\n\r\n" + bomb);
    CHECK(exchange.response.status == (target == std::string("/nowhere") ? 404 : 415));
    CHECK(exchange.closed);
    CheckAlive(server);
  }
}

TEST_CASE("ambiguous framing is refused and the connection closed") {
  ServerProcess server;
  const std::string publish =
      "POST /send_feed_item HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n";
  for (const std::string& framing :
       {std::string("Content-Length: 12\r\nTransfer-Encoding: chunked\r\n"),
        std::string("Content-Length: 12\r\nContent-Length: 12\r\n"),
        std::string("Content-Length: 12, 12\r\n"),
        std::string("Transfer-Encoding: gzip, chunked\r\n"),
        std::string("Transfer-Encoding : chunked\r\n")}) {
    CAPTURE(framing);
    Exchange exchange = SendRaw(server.port(), publish + framing + "\r\n{\"data\":1}\r\n0\r\n\r\n");
    CHECK(exchange.response.status == 400);
    CHECK(exchange.response.Header("connection") == "close");
    CHECK(exchange.closed);
  }
  CHECK(ItemCount(server.port()) == 0);
  CheckAlive(server);
}

TEST_CASE("header values with %0D%0A, NUL or a bare CR inject nothing") {
  ServerProcess server;
  // Percent escapes are no escapes in a header value: nothing is decoded into a new line.
  Exchange encoded =
      SendRaw(server.port(),
              "GET /index.html HTTP/1.1\r\nHost: x\r\nAccept-Encoding: x%0D%0AInjected: 1\r\n\r\n");
  CHECK(encoded.response.status == 200);
  CHECK(encoded.response.Header("injected").empty());
  static constexpr char kNul[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n";
  for (const std::string& request :
       {std::string(kNul, sizeof kNul - 1),
        std::string("GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n")}) {
    Exchange exchange = SendRaw(server.port(), request);
    CHECK(exchange.response.status == 400);
    CHECK(exchange.closed);
  }
  CheckAlive(server);
}

TEST_CASE("a client's REMOTE_ADDR header does not change who the log says it is") {
  ServerProcess server({"--log-level", "info"});
  Exchange exchange = SendRaw(server.port(),
                              "GET /healthz HTTP/1.1\r\nHost: x\r\nREMOTE_ADDR: 9.9.9.9\r\n"
                              "X-Real-IP: 8.8.8.8\r\nConnection: close\r\n\r\n");
  CHECK(exchange.response.status == 200);
  REQUIRE(WaitUntil([&] { return server.Log().find("GET /healthz") != std::string::npos; }));
  CHECK(server.Log().find("127.0.0.1 \"GET /healthz") != std::string::npos);
  CHECK(server.Log().find("9.9.9.9") == std::string::npos);
  CHECK(server.Log().find("8.8.8.8") == std::string::npos);
}

TEST_CASE("a request hidden behind an oversized header line is never served") {
  ServerProcess server;
  HttpConnection connection(server.port());
  connection.SendRaw("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(9000, 'a') +
                     kSmuggled + "\r\n\r\n");
  HttpResponse response = connection.Read(seconds(10));
  CHECK(response.status == 431);
  CHECK(response.Header("connection") == "close");
  CHECK(connection.WaitForClose(seconds(5)));
  CHECK(ItemCount(server.port()) == 0);
  CheckAlive(server);
}

TEST_CASE("paths that are not ours never reach the publish handler") {
  ServerProcess server;
  const std::string body = "{\"data\":1}";
  for (const char* target : {"//send_feed_item", "/send_feed_item/", "/send%5Ffeed_item",
                             "/./send_feed_item", "/x/../send_feed_item"}) {
    CAPTURE(target);
    Exchange exchange =
        SendRaw(server.port(), std::string("POST ") + target +
                                   " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                   "Content-Length: " +
                                   std::to_string(body.size()) + "\r\n\r\n" + body);
    CHECK(exchange.response.status == 404);
  }
  CHECK(ItemCount(server.port()) == 0);
  CheckAlive(server);
}

TEST_CASE("a static file is never served through a symlink that leaves the web root") {
  namespace fs = std::filesystem;
  const fs::path base =
      fs::temp_directory_path() / ("livefeed-webroot-" + std::to_string(::getpid()));
  const fs::path root = base / "web";
  fs::create_directories(root);
  std::ofstream(root / "index.html") << "page\n";
  std::ofstream(base / "secret.txt") << "secret\n";
  fs::create_symlink(base / "secret.txt", root / "leak.txt");
  fs::create_directory_symlink("/etc", root / "etc");
  {
    ServerProcess server({"--web-root", root.string()});
    CHECK(Get(server.port(), "/index.html").body == "page\n");
    CHECK(Get(server.port(), "/leak.txt").status == 404);
    CHECK(Get(server.port(), "/etc/hostname").status == 404);
    CHECK(Get(server.port(), "/%2e%2e/secret.txt").status == 404);
    CheckAlive(server);
  }
  fs::remove_all(base);
}

TEST_CASE("a refused request without a body leaves the connection serving the next one") {
  ServerProcess server;
  HttpConnection connection(server.port());
  connection.SendRaw(
      "POST /send_feed_item HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: "
      "0\r\n\r\n"
      "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(connection.Read(seconds(10)).status == 415);
  CHECK(connection.Read(seconds(10)).status == 200);
  CheckAlive(server);
}
