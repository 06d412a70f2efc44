// A connection to Redis that keeps itself up: it logs in (AUTH, SELECT), reconnects with
// capped exponential backoff after any failure (at once, the first time, when the lost
// connection had served for stable_for), and closes a connection that leaves a
// command unanswered past its deadline (hiredis's async API has no timeouts, so a stopped
// Redis would otherwise hold every caller forever).
// Not thread-safe: lives on the store's event loop. Its events run there.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "store/redis_connection.h"
#include "store/redis_event_loop.h"
#include "store/redis_url.h"

namespace livefeed {

struct LinkTiming {
  std::chrono::milliseconds op_timeout{5000};
  std::chrono::milliseconds backoff_min{100};
  std::chrono::milliseconds backoff_max{5000};
  // A connection that was ready this long and then dropped (killed, a failover) is made again
  // at once: a subscription's announcements or a publisher's answers wait for nothing else.
  // One that drops sooner, or never got ready, waits out the backoff, so a Redis that keeps
  // closing connections is not hammered.
  std::chrono::milliseconds stable_for{1000};
};

class RedisLink {
 public:
  struct Events {
    std::function<void()> on_ready;                       // Logged in: commands may be sent.
    std::function<void(const std::string& why)> on_down;  // Any failure: not ready, and why.
  };

  RedisLink(RedisEventLoop& loop, RedisEndpoint endpoint, LinkTiming timing, std::string name,
            Events events);
  ~RedisLink();

  void Start();
  // Closes for good: pending callbacks get nullptr.
  void Stop();
  // Closes now and reconnects after the backoff (a stalled or silent connection).
  void Restart(const std::string& why);

  bool ready() const { return ready_; }
  // Sends a command with the link's deadline; false (no callback) when not ready.
  bool Send(const RespCommand& command, RedisConnection::OnReply on_reply);
  // SUBSCRIBE; its messages have no deadline (the store probes them).
  bool Subscribe(const std::string& channel, RedisConnection::OnReply on_message);

  std::uint64_t errors() const { return errors_; }
  std::uint64_t reconnects() const { return reconnects_; }
  // Why it is not ready (or the last failure), for Health().
  const std::string& last_error() const { return last_error_; }

 private:
  void Connect();
  void OnConnected();
  void OnClosed(const std::string& why);
  void Fail(const std::string& why);
  void ScheduleReconnect();
  void CheckDeadline();
  void ArmDeadlineTimer();
  bool SendRaw(const RespCommand& command, RedisConnection::OnReply on_reply);

  RedisEventLoop& loop_;
  const RedisEndpoint endpoint_;
  const LinkTiming timing_;
  const std::string name_;
  const Events events_;
  std::unique_ptr<RedisConnection> connection_;
  bool started_ = false;
  bool ready_ = false;
  bool was_ready_ = false;   // Ever: a later ready is a reconnect.
  bool restarting_ = false;  // Closed by Restart, which reported why.
  // When this connection became ready; unset before that, and again once its loss has
  // scheduled the reconnect (or Stop ended it).
  RedisEventLoop::Clock::time_point ready_since_{};
  std::chrono::milliseconds backoff_;
  std::chrono::milliseconds check_period_;
  RedisEventLoop::Handle reconnect_timer_ = 0;
  RedisEventLoop::Handle deadline_timer_ = 0;
  // Deadlines of the commands sent and not answered, oldest first (replies come in order).
  std::deque<RedisEventLoop::Clock::time_point> deadlines_;
  std::uint64_t generation_ = 0;  // Of connection_: replies of an older one are ignored.
  std::uint64_t errors_ = 0, reconnects_ = 0;
  std::string last_error_;
  std::minstd_rand jitter_;
};

}  // namespace livefeed
