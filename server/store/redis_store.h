// The Redis store: several livefeed nodes share one feed through one Redis.
//   1. Append runs one Lua script that takes the ids from Redis's clock, appends to the
//      channel's stream, trims, records the Idempotency-Key and PUBLISHes an announcement
//      carrying the items and a sequence number. The publishes the store's thread has at
//      hand go as one script call (a group commit), each with its own outcome.
//   2. Every node subscribes to the announcements and applies them in sequence order: its
//      in-memory tail (ChannelTail) grows and its listener is told. A gap in the sequence,
//      or a new subscription, first replays the publish log from the last id applied.
//   3. Read answers from the tail when it provably covers the cursor, else asks Redis.
//   4. Back from an outage (or started over), the listener hears of every channel (an
//      empty name) once: reads that failed meanwhile are made again.
// All Redis I/O runs on the store's own thread (Start/Stop); completions and the listener
// run there. Safe for concurrent use without external synchronization.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/id_clock.h"
#include "core/store.h"
#include "store/channel_tail.h"
#include "store/redis_codec.h"
#include "store/redis_event_loop.h"
#include "store/redis_link.h"
#include "store/redis_scripts.h"
#include "store/redis_url.h"

namespace livefeed {

struct RedisStoreOptions {
  RedisEndpoint endpoint;
  std::string prefix = "livefeed:";  // Of every key and of the announcement channel.
  RedisLimits limits;                // --backlog, --backlog-max-age, --max-channels, ...
  std::size_t tail_memory = std::size_t{256} << 20;  // The in-memory tails together.
  std::size_t tail_channels = 10000;
  std::chrono::milliseconds tail_idle{std::chrono::minutes(10)};  // Unread: forgotten.
  std::size_t max_in_flight = 10000;  // Operations waiting for Redis; past it: kBusy.
  LinkTiming timing;
  // How often the subscription is proved alive by echoing a probe through it; a probe not
  // back within the next interval restarts the subscription.
  std::chrono::milliseconds probe_interval{std::chrono::seconds(5)};
};

class RedisStore final : public Store {
 public:
  RedisStore(RedisStoreOptions options, WallClock clock = SystemWallClock());
  ~RedisStore() override;  // Stop().

  // Starts the store's thread, which connects and keeps reconnecting; returns at once,
  // whether Redis is reachable or not (Health() says).
  void Start();
  // Ends the thread; operations still waiting complete with kUnavailable first.
  void Stop();

  std::optional<AppendResult> Append(AppendRequest request, AppendDone done) override;
  std::optional<ReadResult> Read(const ReadRequest& request, ReadDone done) override;
  std::uint64_t Head() override { return head_.load(); }
  void SetListener(Listener listener) override { listener_ = std::move(listener); }
  StoreHealth Health() override;
  std::vector<ChannelStats> Channels(const std::string& after, std::size_t limit) override;

  // For tests and metrics: channels whose tail is in memory.
  bool TailHolds(const std::string& channel);

 private:
  enum class SyncMode { kDown, kCatchingUp, kLive };

  // Loop thread: operations (redis_store.cpp).
  struct PendingAppend {
    std::shared_ptr<AppendRequest> request;
    AppendDone done;
  };
  // A publish call carries at most kMaxGroup publishes, and takes no more once they hold
  // kMaxGroupItems items or kMaxGroupBytes of data (a lone publish goes whatever its size):
  // one script run must not hold Redis for long (about 7 us an item).
  static constexpr std::size_t kMaxGroup = 256;
  static constexpr std::size_t kMaxGroupItems = 1000;
  static constexpr std::size_t kMaxGroupBytes = std::size_t{1} << 20;
  // Publish calls at Redis at once; past it, publishes wait and the next call takes them.
  // One: a publish the script defers (it would trim its own group's items) goes first in
  // the next call, and no call already sent may give later publishes ids before it.
  static constexpr std::size_t kMaxPublishCalls = 1;
  void DoAppend(std::shared_ptr<AppendRequest> request, AppendDone done);
  // Sends the waiting publishes in calls, as many as kMaxPublishCalls allows.
  void SendAppends();
  // The next call's publishes, taken from the front of appends_ (at least one).
  std::vector<PendingAppend> TakeGroup();
  void FinishAppends(std::vector<PendingAppend>& group, const RedisReply* reply);
  void DoRead(const ReadRequest& request, ReadDone done);
  void FinishRead(const ReadRequest& request, const std::string& key, const RedisReply* reply);
  void Complete(const AppendDone& done, AppendResult result);
  // EVALSHA `sha` with `args`, and after NOSCRIPT (SCRIPT FLUSH, a restarted Redis) once
  // more as EVAL of `script`, which caches it again. `on_reply` may run before this returns.
  void SendScript(ScriptArgs args, const std::string& script, const std::string& sha,
                  RedisConnection::OnReply on_reply);
  void LoadScripts();
  void UpdateHealth();
  // Posts `task` to the loop unless the store is stopping; false then.
  // `behind_publish`: a publish, which may wait for the reply of the publish call at Redis
  // (RedisEventLoop::PostBehindReply) rather than wake the store's thread.
  bool PostOperation(std::function<void()> task, bool behind_publish = false);

  // Loop thread: announcements, catch-up and the probe (redis_sync.cpp).
  void OnSubscriberReady();
  void OnMessage(const RedisReply* reply);
  void OnNews(News news);
  void CatchUp();
  void OnSyncReply(const RedisReply* reply);
  void ApplyPosition(const SyncPosition& position);
  void DrainBuffer();
  void Apply(const News& news);
  void Reset(const SyncPosition& position);
  void Probe();
  void OnSubscriberDown();
  // Tells the listener every channel may have news: after a start-over, or once the store
  // is live again after reads may have failed (subscribers read again after their cursors).
  void WakeAll();

  const RedisStoreOptions options_;
  const WallClock clock_;
  const RedisKeys keys_;
  Listener listener_;  // Set before Start.
  RedisEventLoop loop_;
  std::thread thread_;
  bool started_ = false;  // Start/Stop callers' own state.

  // Loop thread only.
  std::unique_ptr<RedisLink> command_;
  std::unique_ptr<RedisLink> subscriber_;
  std::string publish_sha_, read_sha_, sync_sha_;
  bool subscribed_ = false;
  SyncMode mode_ = SyncMode::kDown;
  bool catch_up_pending_ = false;
  bool was_down_ = true;  // Not live since start, or since an outage: WakeAll when live.
  std::uint64_t last_seq_ = 0;
  std::uint64_t known_origin_ = 0;  // 0: never synced.
  std::deque<News> buffer_;         // Announcements that came during a catch-up.
  bool buffer_overflowed_ = false;
  std::map<std::string, std::vector<ReadDone>> reads_;  // Coalesced reads waiting for Redis.
  std::deque<PendingAppend> appends_;                   // Publishes not yet sent to Redis.
  std::size_t publish_calls_ = 0;                       // Publish calls at Redis.
  bool send_pending_ = false;                           // SendAppends will run at the turn's end.
  std::string probe_token_;
  std::string probe_expected_;
  std::uint64_t probe_count_ = 0;
  bool probe_outstanding_ = false;
  RedisEventLoop::Handle probe_timer_ = 0;
  RedisEventLoop::Clock::time_point subscribed_since_{};

  std::atomic<bool> usable_{false};  // Commands may go to Redis (scripts loaded).
  std::atomic<bool> subscribed_flag_{false};
  bool stopping_ = false;  // Guarded by post_mu_.
  std::atomic<std::size_t> in_flight_{0};
  std::atomic<std::uint64_t> head_{0};
  std::atomic<std::uint64_t> evictions_{0};
  std::atomic<std::uint64_t> extra_errors_{0};

  std::mutex post_mu_;  // Orders PostOperation before Stop.

  std::mutex mu_;
  ChannelTail tail_;                           // Guarded by mu_.
  std::uint64_t origin_ = 0;                   // Guarded by mu_.
  std::map<std::string, ChannelStats> stats_;  // Guarded by mu_.
  std::string detail_;                         // Guarded by mu_.
  std::uint64_t errors_ = 0, reconnects_ = 0;  // Guarded by mu_ (copied from links).
};

}  // namespace livefeed
