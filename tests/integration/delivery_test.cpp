// A subscriber is a cursor: far-behind, slow and stalled readers get every item, in order, on
// one connection, while the server holds little for them. Real binary, real sockets.
#include <doctest/doctest.h>
#include <poll.h>
#include <sys/socket.h>

#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "support/feed_helpers.h"

using namespace livefeed::testing;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

// Sanitizers keep freed memory in quarantine and add shadow memory: the server's size says
// nothing about what it holds then.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kMemoryIsMeaningful = false;
#else
constexpr bool kMemoryIsMeaningful = true;
#endif

long RssKiB(const ServerProcess& server) {
  std::ifstream status("/proc/" + std::to_string(server.pid()) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

// An event stream read as raw bytes, as fast or as slowly as the test says, keeping only
// the ids of its events: enough to check "every item once, in order" over gigabytes.
class StreamReader {
 public:
  StreamReader(int port, const std::string& target, int receive_buffer = 0) : connection_(port) {
    if (receive_buffer) {
      ::setsockopt(connection_.fd(), SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    }
    connection_.Send("GET", target);
    head_ = connection_.ReadHead(seconds(10));
    Scan(connection_.TakeBuffered());
  }

  int status() const { return head_.status; }
  const std::vector<std::uint64_t>& ids() const { return ids_; }
  bool ended() const { return connection_.eof(); }

  // Reads at most `max` bytes that have arrived (waiting up to `wait` for some).
  std::size_t Read(std::size_t max, milliseconds wait) {
    pollfd p{connection_.fd(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(wait.count())) <= 0) return 0;
    std::string chunk(max, '\0');
    const ssize_t n = ::recv(connection_.fd(), chunk.data(), max, 0);
    if (n <= 0) {
      closed_ = true;
      return 0;
    }
    chunk.resize(static_cast<std::size_t>(n));
    Scan(chunk);
    return chunk.size();
  }
  bool closed() const { return closed_; }

  // Reads until `count` ids arrived or `timeout` passes.
  bool ReadUntil(std::size_t count, milliseconds timeout = seconds(60)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (ids_.size() < count && !closed_ && std::chrono::steady_clock::now() < deadline) {
      Read(1 << 20, milliseconds(200));
    }
    return ids_.size() >= count;
  }

 private:
  void Scan(const std::string& bytes) {
    text_ += bytes;
    std::size_t pos = 0;
    for (;;) {
      const std::size_t line = text_.find("\nid: ", pos);
      const std::size_t end = line == std::string::npos ? line : text_.find('\n', line + 5);
      if (end == std::string::npos) break;
      ids_.push_back(std::stoull(text_.substr(line + 5, end - line - 5)));
      pos = end;
    }
    // Keep only what may hold the start of an unfinished id line.
    text_.erase(0, std::max(pos, text_.size() > 64 ? text_.size() - 64 : 0));
  }

  HttpConnection connection_;
  HttpResponse head_;
  std::string text_ = "\n";
  std::vector<std::uint64_t> ids_;
  bool closed_ = false;
};

std::vector<std::uint64_t> PublishMany(int port, int count, std::size_t bytes,
                                       const std::string& channel = "default") {
  std::vector<std::uint64_t> ids;
  const std::string data = "\"" + std::string(bytes, 'x') + "\"";
  for (int i = 0; i < count; ++i) ids.push_back(Publish(port, data, channel));
  return ids;
}

}  // namespace

TEST_CASE("a stream from since=0 over 1,000 items of 1 KB gets all of them, once, in order") {
  ServerProcess server;
  const auto ids = PublishMany(server.port(), 1000, 1000);
  StreamReader stream(server.port(), "/real_time_feed/stream?since=0");
  REQUIRE(stream.status() == 200);
  REQUIRE(stream.ReadUntil(ids.size()));
  CHECK(stream.ids() == ids);
  CHECK_FALSE(stream.closed());
}

TEST_CASE("a stream from since=0 over 200 items of 60 KB gets all of them, once, in order") {
  ServerProcess server;
  const auto ids = PublishMany(server.port(), 200, 60000);
  StreamReader stream(server.port(), "/real_time_feed/stream?since=0");
  REQUIRE(stream.ReadUntil(ids.size()));
  CHECK(stream.ids() == ids);
  CHECK_FALSE(stream.closed());
}

TEST_CASE(
    "a slow reader gets everything on its one connection; a fast one beside it is not held up") {
  ServerProcess server;
  const auto start = Publish(server.port(), "0");
  const std::string from = "/real_time_feed/stream?since=" + std::to_string(start);
  StreamReader slow(server.port(), from, 8 * 1024);
  StreamReader fast(server.port(), from);
  REQUIRE(WaitForWaiters(server.port(), 2));
  // 2 MB published while the slow reader takes about 50 KB/s.
  std::vector<std::uint64_t> ids;
  std::thread publisher([&] { ids = PublishMany(server.port(), 100, 20000); });
  while (slow.ids().size() < 100 && !slow.closed()) {
    slow.Read(8 * 1024, milliseconds(1000));
    fast.Read(1 << 20, milliseconds(0));
    std::this_thread::sleep_for(milliseconds(160));  // The reader's pace, not a wait.
  }
  publisher.join();
  REQUIRE(fast.ReadUntil(100));
  CHECK(slow.ids() == ids);
  CHECK(fast.ids() == ids);
  CHECK_FALSE(slow.closed());
}

TEST_CASE("200 streams that stop reading through a 10 MB burst are kept, then get everything") {
  ServerProcess server({"--write-timeout", "30"});
  const auto start = Publish(server.port(), "0");
  const std::string from = "/real_time_feed/stream?since=" + std::to_string(start);
  std::vector<std::unique_ptr<StreamReader>> streams;
  for (int i = 0; i < 200; ++i)
    streams.push_back(std::make_unique<StreamReader>(server.port(), from));
  REQUIRE(WaitForWaiters(server.port(), 200));
  const long before = RssKiB(server);
  // The burst: 160 items of 64 KB that nobody reads for now.
  const auto ids = PublishMany(server.port(), 160, 64000);
  const long during = RssKiB(server);
  MESSAGE("server RSS before the burst " << before << " KiB, with 200 stalled streams " << during
                                         << " KiB");
  // What the server holds is the backlog itself (about 10 MB) plus at most one batch per
  // stream, shared by streams at the same cursor: far below 200 queues of a burst each.
  if (kMemoryIsMeaningful) CHECK(during - before < 10'000 + 200 * 64 + 8'192);
  CHECK(Health(server.port())["waiting"] == 200);
  // All of them read again together, a little each in turn, as 200 real clients would: read
  // one after another, the last would take nothing for longer than --write-timeout on a slow
  // (sanitizer) build, and be rightly dropped.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
  for (bool pending = true; pending && std::chrono::steady_clock::now() < deadline;) {
    pending = false;
    for (auto& stream : streams) {
      if (stream->ids().size() >= ids.size() || stream->closed()) continue;
      pending = true;
      stream->Read(64 * 1024, milliseconds(10));
    }
  }
  for (auto& stream : streams) {
    REQUIRE(stream->ids() == ids);
    CHECK_FALSE(stream->closed());
  }
}

TEST_CASE("a stream whose client takes nothing is closed at the write timeout") {
  ServerProcess server({"--write-timeout", "2", "--ping-interval", "1"});
  StreamReader stalled(server.port(), "/real_time_feed/stream?since=0", 4096);
  REQUIRE(WaitForWaiters(server.port(), 1));
  PublishMany(server.port(), 20, 60000);
  CHECK(WaitForWaiters(server.port(), 0));
}

TEST_CASE("long-poll answers respect --max-answer-bytes and the cursor walks the whole backlog") {
  ServerProcess server({"--max-answer-bytes", "10000"});
  const auto ids = PublishMany(server.port(), 50, 1000);
  std::vector<std::uint64_t> seen;
  std::uint64_t cursor = 0;
  for (int answers = 0; seen.size() < ids.size() && answers < 100; ++answers) {
    HttpResponse response = Get(server.port(), "/real_time_feed?since=" + std::to_string(cursor));
    REQUIRE(response.status == 200);
    const auto body = response.Json();
    CHECK(response.body.size() < 10000 + 2000);  // One item may pass the bound; no more.
    CHECK_FALSE(body["items"].empty());
    for (const auto& item : body["items"]) seen.push_back(item["id"].get<std::uint64_t>());
    cursor = body["cursor"].get<std::uint64_t>();
  }
  CHECK(seen == ids);
  // One item larger than the bound still comes, alone.
  const auto big = Publish(server.port(), "\"" + std::string(20000, 'y') + "\"");
  HttpResponse last = Get(server.port(), "/real_time_feed?since=" + std::to_string(cursor));
  REQUIRE(last.Json()["items"].size() == 1);
  CHECK(last.Json()["items"][0]["id"] == big);
}

TEST_CASE(
    "HEAD on both feed endpoints is answered at once, and GET follows on the same connection") {
  ServerProcess server;
  const auto since = Publish(server.port(), "1");
  for (const char* path : {"/real_time_feed", "/real_time_feed/stream"}) {
    CAPTURE(path);
    HttpConnection connection(server.port());
    connection.SendRaw(std::string("HEAD ") + path + "?since=" + std::to_string(since) +
                       " HTTP/1.1\r\nHost: x\r\n\r\n");
    HttpResponse head = connection.ReadHead(seconds(5));
    CHECK(head.status == 200);
    CHECK(head.Header("content-type") ==
          (path == std::string("/real_time_feed") ? "application/json" : "text/event-stream"));
    CHECK(connection.TakeBuffered().empty());  // No body.
    connection.Send("GET", "/real_time_feed?since=0");
    HttpResponse answer = connection.Read(seconds(5));
    CHECK(answer.status == 200);
    CHECK(answer.Json()["items"].size() == 1);
  }
}

TEST_CASE(
    "the memory limit evicts the oldest items, reported as truncated; a publish it cannot keep is "
    "507") {
  ServerProcess server({"--memory-limit", "300000", "--backlog-max-bytes", "200000"});
  const auto first = PublishMany(server.port(), 5, 50000, "a");
  PublishMany(server.port(), 5, 50000, "b");
  HttpResponse old =
      Get(server.port(), "/real_time_feed?channel=a&since=" + std::to_string(first[0]));
  CHECK(old.Json()["truncated"] == true);
  HttpResponse huge = PostJson(server.port(), "{\"data\":\"" + std::string(60000, 'z') + "\"}");
  CHECK(huge.status == 200);  // Fits: older items make room.
  const std::string too_large = "{\"data\":\"" + std::string(65000, 'z') + "\"}";
  ServerProcess tight({"--backlog-max-bytes", "10000"});
  HttpResponse refused = PostJson(tight.port(), too_large);
  CHECK(refused.status == 507);
  CHECK(refused.Json()["error"].is_string());
}
