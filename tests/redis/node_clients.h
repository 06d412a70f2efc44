// Real livefeed processes ("nodes") sharing one private redis-server, and the clients their
// tests follow them with: a long-poll loop that keeps its cursor as the browser client does,
// a stream reader, and publishes that retry with their Idempotency-Key.
// PollFollower is safe to read from the test's thread while it runs on its own.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/feed_helpers.h"
#include "support/redis_process.h"
#include "support/server_process.h"
#include "support/sse_client.h"

namespace livefeed::testing {

// Generous: the sanitizer builds are several times slower.
inline constexpr std::chrono::milliseconds kNodeDeadline = std::chrono::seconds(30);

// Waits until the node's /healthz says "store": `state` ("up" or "down").
bool WaitForStore(int port, const std::string& state);

// A private redis-server and two nodes on it (`livefeed --store <redis> --poll-timeout 60
// <options>`: held polls outlast an outage), both up.
struct TwoNodes {
  explicit TwoNodes(std::vector<std::string> options = {}, bool aof = false);
  // Starts both nodes (again) and waits until they are up.
  void StartNodes();

  const std::vector<std::string> options;
  RedisProcess redis;
  std::unique_ptr<ServerProcess> a, b;
};

// Publishes {"data": data_json} with `key` as its Idempotency-Key, again and again while
// the answer is not 200 (a node or Redis away); returns the id, 0 if never.
std::uint64_t PublishUntilOk(int port, const std::string& data_json, const std::string& key);

// Reads events from `stream` until it holds `count` item ids (events named "truncated"
// are counted in `truncations`), it ends, or the deadline passes.
std::vector<std::uint64_t> StreamIds(SseClient& stream, std::size_t count,
                                     int* truncations = nullptr);

bool StrictlyIncreasing(const std::vector<std::uint64_t>& ids);

// For a failed comparison: the sizes and the first difference.
std::string Difference(const std::vector<std::uint64_t>& got,
                       const std::vector<std::uint64_t>& want);

class PollFollower {
 public:
  // Follows `channel` on the node at `port` from `since`.
  PollFollower(int port, std::uint64_t since, std::string channel = "default");
  ~PollFollower();
  PollFollower(const PollFollower&) = delete;
  PollFollower& operator=(const PollFollower&) = delete;

  std::vector<std::uint64_t> ids();
  bool truncated();
  // Waits until at least `count` ids came.
  bool WaitFor(std::size_t count);

 private:
  void Run();

  const int port_;
  const std::string channel_;
  std::uint64_t cursor_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<std::uint64_t> ids_;  // Guarded by mu_.
  bool truncated_ = false;          // Guarded by mu_.
  std::thread thread_;
};

}  // namespace livefeed::testing
