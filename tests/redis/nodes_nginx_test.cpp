// Two nodes sharing Redis behind the shipped nginx config with --balance round-robin: no
// stickiness, so consecutive requests reach both nodes and see one feed, and a client whose
// node dies resumes on the other with Last-Event-ID. Real nginx, real livefeed, real Redis.
#include <doctest/doctest.h>

#include <csignal>
#include <mutex>
#include <regex>

#include "redis/node_clients.h"
#include "support/nginx_process.h"

namespace livefeed::testing {
namespace {

// How many of nginx's access lines for `path` name `port` as the upstream that answered.
int AnsweredBy(const std::string& access_log, const std::string& path, int port) {
  const std::regex line("\"[A-Z]+ " + path +
                        "[ ?][^\\n]* upstream=127\\.0\\.0\\.1:" + std::to_string(port) + " ");
  return static_cast<int>(std::distance(
      std::sregex_iterator(access_log.begin(), access_log.end(), line), std::sregex_iterator()));
}

TEST_CASE("round-robin through nginx reaches both nodes, and every answer is the same feed") {
  TwoNodes nodes;
  ServerProcess* a = nodes.a.get();
  ServerProcess* b = nodes.b.get();
  NginxProcess nginx({a->port(), b->port()}, "round-robin");

  std::vector<std::uint64_t> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(Publish(nginx.port(), std::to_string(i)));
  for (int i = 0; i < 4; ++i) {
    const nlohmann::json answer = Get(nginx.port(), "/real_time_feed?since=0").Json();
    std::vector<std::uint64_t> found;
    for (const auto& item : answer["items"]) found.push_back(item["id"].get<std::uint64_t>());
    CHECK(found == ids);
  }
  // nginx writes the access line once the response is done: wait for all eight.
  std::string log;
  REQUIRE(WaitUntil([&] {
    log = nginx.AccessLog();
    return AnsweredBy(log, "/real_time_feed", a->port()) +
               AnsweredBy(log, "/real_time_feed", b->port()) ==
           4;
  }));
  // Taking turns: each node answered half of each kind of request.
  CHECK(AnsweredBy(log, "/send_feed_item", a->port()) == 2);
  CHECK(AnsweredBy(log, "/send_feed_item", b->port()) == 2);
  CHECK(AnsweredBy(log, "/real_time_feed", a->port()) == 2);
  CHECK(AnsweredBy(log, "/real_time_feed", b->port()) == 2);
}

TEST_CASE(
    "kill -9 of the node under an SSE client: it resumes on the other node with "
    "Last-Event-ID and gets every item exactly once") {
  TwoNodes cluster;
  ServerProcess* nodes[] = {cluster.a.get(), cluster.b.get()};
  NginxProcess nginx({nodes[0]->port(), nodes[1]->port()}, "round-robin");

  std::mutex mu;
  std::vector<std::uint64_t> published;  // Guarded by mu.
  auto publish = [&](int i) {
    // Retried with its key until answered: a publish cut off with its node is one item.
    const std::uint64_t id =
        PublishUntilOk(nginx.port(), std::to_string(i), "k" + std::to_string(i));
    if (id == 0) return;  // Never answered: the count below fails the test.
    std::lock_guard lock(mu);
    published.push_back(id);
  };
  auto stream = std::make_unique<SseClient>(nginx.port(), "/real_time_feed/stream?since=0");
  REQUIRE(stream->head().status == 200);
  for (int i = 0; i < 5; ++i) publish(i);
  std::vector<std::uint64_t> received = StreamIds(*stream, 5);
  REQUIRE(received.size() == 5);

  // The node holding the stream is the one with a waiting client.
  int victim = -1;
  REQUIRE(WaitUntil([&] {
    for (int n = 0; n < 2; ++n) {
      if (Health(nodes[n]->port())["waiting"] == 1) victim = n;
    }
    return victim >= 0;
  }));
  constexpr int kTotal = 30;
  std::thread publisher([&] {
    for (int i = 5; i < kTotal; ++i) publish(i);
  });
  nodes[victim]->Stop(SIGKILL);

  // What was sent before the node died, then the resumed streams, as a browser would.
  const auto deadline = std::chrono::steady_clock::now() + kNodeDeadline;
  while (received.size() < kTotal && std::chrono::steady_clock::now() < deadline) {
    if (stream->head().status == 200) {
      for (std::uint64_t id : StreamIds(*stream, kTotal - received.size())) received.push_back(id);
    }
    if (received.size() >= kTotal) break;
    stream = std::make_unique<SseClient>(nginx.port(), "/real_time_feed/stream",
                                         std::to_string(received.back()));
  }
  publisher.join();
  std::lock_guard lock(mu);
  CHECK(published.size() == kTotal);
  CHECK(StrictlyIncreasing(published));
  CHECK(received == published);
}

}  // namespace
}  // namespace livefeed::testing
