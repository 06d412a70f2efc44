#include "store/redis_link.h"

#include <algorithm>
#include <utility>

namespace livefeed {

using std::chrono::milliseconds;

RedisLink::RedisLink(RedisEventLoop& loop, RedisEndpoint endpoint, LinkTiming timing,
                     std::string name, Events events)
    : loop_(loop),
      endpoint_(std::move(endpoint)),
      timing_(timing),
      name_(std::move(name)),
      events_(std::move(events)),
      backoff_(timing.backoff_min),
      check_period_(
          std::clamp<milliseconds>(timing.op_timeout / 4, milliseconds(10), milliseconds(250))),
      jitter_(std::random_device{}()) {
  last_error_ = "connecting to " + DescribeEndpoint(endpoint_);
}

RedisLink::~RedisLink() { Stop(); }

void RedisLink::Start() {
  started_ = true;
  Connect();
  ArmDeadlineTimer();
}

void RedisLink::Stop() {
  if (!started_) return;
  started_ = false;
  loop_.Cancel(reconnect_timer_);
  loop_.Cancel(deadline_timer_);
  ready_ = false;
  ready_since_ = {};
  // Pending callbacks get nullptr now; nothing reconnects.
  connection_.reset();
  deadlines_.clear();
}

void RedisLink::Restart(const std::string& why) {
  if (!connection_ || !connection_->open()) return;
  Fail(why);
  restarting_ = true;
  connection_->Close();  // OnClosed follows (posted) and schedules the reconnect.
}

void RedisLink::ArmDeadlineTimer() {
  deadline_timer_ = loop_.RunAfter(check_period_, [this] {
    CheckDeadline();
    if (started_) ArmDeadlineTimer();
  });
}

void RedisLink::CheckDeadline() {
  if (deadlines_.empty() || deadlines_.front() > RedisEventLoop::Clock::now()) return;
  Restart(name_ + ": Redis did not answer within " + std::to_string(timing_.op_timeout.count()) +
          " ms");
}

void RedisLink::Connect() {
  reconnect_timer_ = 0;
  if (!started_) return;
  // Replaced here, on a timer, never inside one of the connection's own callbacks.
  connection_.reset();
  deadlines_.clear();
  restarting_ = false;
  const std::uint64_t generation = ++generation_;
  connection_ = std::make_unique<RedisConnection>(
      loop_, endpoint_.host, endpoint_.port,
      [this, generation] {
        if (generation == generation_) OnConnected();
      },
      [this, generation](const std::string& why) {
        if (generation == generation_) OnClosed(why);
      });
}

void RedisLink::OnConnected() {
  // Logging in: AUTH and SELECT are pipelined; the last reply makes the link ready.
  std::vector<RespCommand> steps;
  if (!endpoint_.password.empty()) {
    if (endpoint_.user.empty()) {
      steps.push_back({"AUTH", endpoint_.password});
    } else {
      steps.push_back({"AUTH", endpoint_.user, endpoint_.password});
    }
  }
  if (endpoint_.db != 0) steps.push_back(RespCommand{"SELECT"}.Add(std::int64_t{endpoint_.db}));
  steps.push_back({"PING"});
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const bool last = i + 1 == steps.size();
    const std::string what(steps[i].name());
    SendRaw(steps[i], [this, last, what, generation = generation_](const RedisReply* reply) {
      if (generation != generation_ || !reply) return;  // OnClosed reports a lost connection.
      if (reply->is_error()) {
        Restart(name_ + ": " + what + " failed: " + reply->str);
        return;
      }
      if (!last || ready_) return;
      ready_ = true;
      ready_since_ = RedisEventLoop::Clock::now();
      if (was_ready_) ++reconnects_;
      was_ready_ = true;
      backoff_ = timing_.backoff_min;
      last_error_.clear();
      events_.on_ready();
    });
  }
}

void RedisLink::Fail(const std::string& why) {
  ++errors_;
  last_error_ = why;
  ready_ = false;
  events_.on_down(why);
}

void RedisLink::OnClosed(const std::string& why) {
  // Restart counted its own failure already; a connection that just ended has not.
  if (!restarting_) Fail(name_ + ": " + why);
  restarting_ = false;
  deadlines_.clear();
  ScheduleReconnect();
}

void RedisLink::ScheduleReconnect() {
  if (!started_ || reconnect_timer_ != 0) return;
  const auto since = std::exchange(ready_since_, RedisEventLoop::Clock::time_point{});
  const bool served = since != RedisEventLoop::Clock::time_point{} &&
                      RedisEventLoop::Clock::now() - since >= timing_.stable_for;
  milliseconds delay(0);
  if (!served) {
    // Jitter spreads the nodes of a cluster so they do not all reconnect at the same moment.
    delay = backoff_ + milliseconds(jitter_() % (backoff_.count() / 4 + 1));
    backoff_ = std::min(backoff_ * 2, timing_.backoff_max);
  }
  reconnect_timer_ = loop_.RunAfter(delay, [this] { Connect(); });
}

bool RedisLink::SendRaw(const RespCommand& command, RedisConnection::OnReply on_reply) {
  if (!connection_) return false;
  const bool sent = connection_->Send(
      command,
      [this, generation = generation_, on_reply = std::move(on_reply)](const RedisReply* r) {
        if (generation == generation_ && !deadlines_.empty()) deadlines_.pop_front();
        on_reply(r);
      });
  if (sent) deadlines_.push_back(RedisEventLoop::Clock::now() + timing_.op_timeout);
  return sent;
}

bool RedisLink::Send(const RespCommand& command, RedisConnection::OnReply on_reply) {
  if (!ready_) return false;
  return SendRaw(command, std::move(on_reply));
}

bool RedisLink::Subscribe(const std::string& channel, RedisConnection::OnReply on_message) {
  if (!ready_) return false;
  return connection_->Subscribe(channel, std::move(on_message));
}

}  // namespace livefeed
