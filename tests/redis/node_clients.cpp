#include "redis/node_clients.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <functional>

namespace livefeed::testing {
namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(20);

std::unique_ptr<ServerProcess> StartNode(const RedisProcess& redis,
                                         const std::vector<std::string>& extra) {
  std::vector<std::string> args{"--store", redis.url(), "--poll-timeout", "60"};
  args.insert(args.end(), extra.begin(), extra.end());
  return std::make_unique<ServerProcess>(std::move(args));
}

}  // namespace

bool WaitForStore(int port, const std::string& state) {
  return WaitUntil([&] { return Health(port).value("store", "") == state; }, kNodeDeadline,
                   kPollInterval);
}

TwoNodes::TwoNodes(std::vector<std::string> node_options, bool aof)
    : options(std::move(node_options)), redis(aof) {
  StartNodes();
}

void TwoNodes::StartNodes() {
  a = StartNode(redis, options);
  b = StartNode(redis, options);
  REQUIRE(WaitForStore(a->port(), "up"));
  REQUIRE(WaitForStore(b->port(), "up"));
}

std::uint64_t PublishUntilOk(int port, const std::string& data_json, const std::string& key) {
  std::uint64_t id = 0;
  WaitUntil(
      [&] {
        HttpConnection connection(port);
        connection.Send("POST", "/send_feed_item", "{\"data\":" + data_json + "}",
                        "application/json", "Idempotency-Key: " + key + "\r\n");
        const HttpResponse answer = connection.Read(std::chrono::seconds(20));
        if (answer.status != 200) return false;
        id = answer.Json()["id"].get<std::uint64_t>();
        return true;
      },
      kNodeDeadline, kPollInterval);
  return id;
}

std::vector<std::uint64_t> StreamIds(SseClient& stream, std::size_t count, int* truncations) {
  std::vector<std::uint64_t> ids;
  const auto deadline = std::chrono::steady_clock::now() + kNodeDeadline;
  while (ids.size() < count && !stream.ended()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    std::optional<SseEvent> event = stream.NextEvent(left);
    if (!event) break;
    if (event->event == "truncated") {
      if (truncations) ++*truncations;
      continue;
    }
    ids.push_back(std::stoull(event->id));
  }
  return ids;
}

bool StrictlyIncreasing(const std::vector<std::uint64_t>& ids) {
  return std::adjacent_find(ids.begin(), ids.end(), std::greater_equal<>()) == ids.end();
}

std::string Difference(const std::vector<std::uint64_t>& got,
                       const std::vector<std::uint64_t>& want) {
  std::string text =
      "got " + std::to_string(got.size()) + " ids, want " + std::to_string(want.size());
  for (std::size_t i = 0; i < std::min(got.size(), want.size()); ++i) {
    if (got[i] == want[i]) continue;
    text += "; first difference at " + std::to_string(i) + ": got " + std::to_string(got[i]) +
            ", want " + std::to_string(want[i]);
    break;
  }
  return text;
}

PollFollower::PollFollower(int port, std::uint64_t since, std::string channel)
    : port_(port), channel_(std::move(channel)), cursor_(since) {
  thread_ = std::thread([this] { Run(); });
}

PollFollower::~PollFollower() {
  stop_ = true;
  thread_.join();
}

std::vector<std::uint64_t> PollFollower::ids() {
  std::lock_guard lock(mu_);
  return ids_;
}

bool PollFollower::truncated() {
  std::lock_guard lock(mu_);
  return truncated_;
}

bool PollFollower::WaitFor(std::size_t count) {
  return WaitUntil([&] { return ids().size() >= count; }, kNodeDeadline);
}

void PollFollower::Run() {
  std::unique_ptr<HttpConnection> connection;
  while (!stop_) {
    if (!connection || !connection->connected()) {
      connection = std::make_unique<HttpConnection>(port_);
    }
    // A short timeout, so that stopping never waits long.
    connection->Send("GET", "/real_time_feed?timeout=1&channel=" + channel_ +
                                "&since=" + std::to_string(cursor_));
    const HttpResponse answer = connection->Read(std::chrono::seconds(20));
    if (answer.status == 0 || answer.Header("connection") == "close") connection.reset();
    if (answer.status != 200) {
      // Refused (503 while the store is down) or the node is away: try again shortly, as
      // the browser client does after Retry-After.
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    const nlohmann::json body = answer.Json();
    std::lock_guard lock(mu_);
    for (const auto& item : body["items"]) ids_.push_back(item["id"].get<std::uint64_t>());
    truncated_ |= body.value("truncated", false);
    cursor_ = body["cursor"].get<std::uint64_t>();
  }
}

}  // namespace livefeed::testing
