// How a node follows the cluster's publishes (RedisStore's half that listens):
//   1. The subscription is confirmed: the node catches up. The sync script answers the
//      cluster's position and the log entries after the last id the node applied (on the
//      first sync, what each channel holds instead); announcements that arrive meanwhile
//      wait in a buffer.
//   2. Log entries are applied in sequence (they carry no items: the channels they touched
//      are dropped from the tail, to be read from Redis again), then the buffer.
//   3. Live: each announcement must carry the next sequence number. A gap (or a number
//      going back) returns to step 1, so the listener never hears of id N+2 before N+1.
//   4. A node that fell behind more than the log keeps, or a Redis that lost its data (a
//      new origin), resets: the whole tail goes and every known channel is woken.
//   5. Every probe interval the node publishes a probe to itself; a probe not back by the
//      next interval restarts the subscription (a silently dead subscription).
#include <algorithm>
#include <utility>

#include "store/redis_store.h"

namespace livefeed {
namespace {

constexpr std::size_t kCatchUpBatch = 1000;   // Log entries per sync round trip.
constexpr std::size_t kMaxBuffered = 100000;  // Announcements held during a catch-up.

bool IsArrayOf(const RedisReply& reply, std::size_t size) {
  return reply.type == RedisReply::Type::kArray && reply.elements.size() == size;
}

}  // namespace

void RedisStore::OnSubscriberReady() {
  subscribed_since_ = RedisEventLoop::Clock::now();
  subscriber_->Subscribe(keys_.announce, [this](const RedisReply* reply) { OnMessage(reply); });
}

void RedisStore::OnSubscriberDown() {
  was_down_ = true;
  subscribed_ = false;
  subscribed_flag_ = false;
  mode_ = SyncMode::kDown;
  buffer_.clear();
  buffer_overflowed_ = false;
  probe_outstanding_ = false;
  UpdateHealth();
}

void RedisStore::OnMessage(const RedisReply* reply) {
  if (!reply || !IsArrayOf(*reply, 3)) return;  // The link reports a lost connection.
  const std::string& kind = reply->elements[0].str;
  if (kind == "subscribe") {
    subscribed_ = true;
    subscribed_flag_ = true;
    mode_ = SyncMode::kCatchingUp;
    buffer_.clear();
    UpdateHealth();
    CatchUp();
    return;
  }
  if (kind != "message") return;
  const std::string& payload = reply->elements[2].str;
  if (!payload.empty() && payload[0] == 'P') {
    if (payload == probe_expected_) probe_outstanding_ = false;
    return;  // Another node's probe.
  }
  std::optional<News> news = DecodeNews(payload);
  if (!news || news->from_log) {
    ++extra_errors_;  // Not ours: someone else publishes on the announcement channel.
    return;
  }
  OnNews(std::move(*news));
}

void RedisStore::OnNews(News news) {
  switch (mode_) {
    case SyncMode::kLive:
      if (news.seq == last_seq_ + 1) return Apply(news);
      // Missed one (or Redis started over): the log says what came in between.
      mode_ = SyncMode::kCatchingUp;
      buffer_.push_back(std::move(news));
      CatchUp();
      return;
    case SyncMode::kCatchingUp:
      if (buffer_.size() < kMaxBuffered) {
        buffer_.push_back(std::move(news));
      } else {
        buffer_overflowed_ = true;  // The log has them too: another round fetches them.
      }
      return;
    case SyncMode::kDown:
      return;
  }
}

void RedisStore::CatchUp() {
  if (catch_up_pending_ || !usable_ || !subscribed_) return;
  catch_up_pending_ = true;
  const std::uint64_t after = known_origin_ == 0 ? 0 : head_.load();
  SendScript(SyncCommand(keys_, after, kCatchUpBatch), SyncScript(), sync_sha_,
             [this](const RedisReply* reply) {
               catch_up_pending_ = false;
               OnSyncReply(reply);
             });
}

void RedisStore::OnSyncReply(const RedisReply* reply) {
  if (!reply) return;  // The command link is down; it catches up again once it is back.
  std::optional<SyncPosition> position;
  if (!reply->is_error()) position = ParseSyncReply(*reply);
  if (!position) {
    ++extra_errors_;  // Tried again by the next probe tick.
    return;
  }
  // The subscription dropped meanwhile: the next one catches up again.
  if (!subscribed_ || mode_ != SyncMode::kCatchingUp) return;
  ApplyPosition(*position);
}

void RedisStore::ApplyPosition(const SyncPosition& position) {
  const std::uint64_t head = head_.load();
  if (known_origin_ == 0) {
    // The first sync: the node starts at the cluster's head, knowing the channels Redis
    // holds (announcements of them that came meanwhile are dropped below as applied).
    std::lock_guard lock(mu_);
    origin_ = known_origin_ = position.origin;
    head_ = position.head;
    last_seq_ = position.seq;
    for (const ChannelStats& stats : position.channels) {
      if (stats_.size() >= options_.limits.max_channels) break;
      stats_.emplace(stats.channel, stats);
    }
  } else if (position.origin != known_origin_ || position.log_trimmed > head ||
             position.head < head) {
    Reset(position);
  } else {
    for (const News& entry : position.entries) {
      if (entry.seq <= last_seq_) continue;
      if (entry.seq != last_seq_ + 1) {
        Reset(position);
        break;
      }
      Apply(entry);
    }
    if (position.entries.size() == kCatchUpBatch) return CatchUp();
  }
  DrainBuffer();
}

void RedisStore::DrainBuffer() {
  while (!buffer_.empty()) {
    if (buffer_.front().seq <= last_seq_) {
      buffer_.pop_front();  // Already applied from the log.
      continue;
    }
    if (buffer_.front().seq != last_seq_ + 1) return CatchUp();
    News news = std::move(buffer_.front());
    buffer_.pop_front();
    Apply(news);
  }
  if (buffer_overflowed_) {
    buffer_overflowed_ = false;
    return CatchUp();
  }
  mode_ = SyncMode::kLive;
  if (std::exchange(was_down_, false)) WakeAll();
}

void RedisStore::WakeAll() {
  if (listener_) listener_("", head_.load());
}

void RedisStore::Apply(const News& news) {
  std::vector<std::pair<std::string, std::uint64_t>> wake;
  std::uint64_t evicted = 0;
  {
    std::lock_guard lock(mu_);
    const std::int64_t now_us = clock_();
    for (const ChannelNews& channel : news.channels) {
      if (news.from_log) {
        tail_.Drop(channel.channel);  // Its items are not in the log entry.
      } else {
        std::vector<ItemPtr> items;
        for (const ItemPtr& item : news.items) {
          if (item->channel == channel.channel) items.push_back(item);
        }
        tail_.Append(channel.channel, items, channel.trimmed, now_us);
      }
      ChannelStats& stats = stats_[channel.channel];
      stats.channel = channel.channel;
      stats.items = channel.length;
      stats.head = channel.newest;
      if (!news.from_log) stats.last_publish_ms = news.timestamp_ms;
      evicted += channel.evicted;
      wake.emplace_back(channel.channel, channel.newest);
    }
    // What /channels lists stays bounded like the channels Redis keeps.
    while (stats_.size() > options_.limits.max_channels) {
      auto oldest = std::min_element(stats_.begin(), stats_.end(), [](auto& a, auto& b) {
        return a.second.last_publish_ms < b.second.last_publish_ms;
      });
      stats_.erase(oldest);
    }
    head_ = std::max(head_.load(), news.newest());
  }
  last_seq_ = news.seq;
  evictions_ += evicted;
  if (listener_) {
    for (const auto& [channel, newest] : wake) listener_(channel, newest);
  }
}

void RedisStore::Reset(const SyncPosition& position) {
  std::vector<std::string> channels;
  {
    std::lock_guard lock(mu_);
    channels = tail_.Clear();
    // A new origin: Redis lost its data, and what this node knew of channels with it.
    if (position.origin != known_origin_) stats_.clear();
    for (const auto& [name, stats] : stats_) channels.push_back(name);
    origin_ = known_origin_ = position.origin;
    head_ = position.head;
  }
  last_seq_ = position.seq;
  std::sort(channels.begin(), channels.end());
  channels.erase(std::unique(channels.begin(), channels.end()), channels.end());
  // Subscribers re-read after their cursors, from Redis: what they missed comes in order.
  if (listener_) {
    for (const std::string& channel : channels) listener_(channel, position.head);
  }
  // Channels this node never heard of may have subscribers too.
  WakeAll();
}

void RedisStore::Probe() {
  const auto now = RedisEventLoop::Clock::now();
  if (subscriber_->ready() && !subscribed_ &&
      now - subscribed_since_ > options_.timing.op_timeout) {
    subscriber_->Restart("subscription: SUBSCRIBE was not confirmed");
  } else if (usable_ && subscribed_) {
    if (probe_outstanding_) {
      probe_outstanding_ = false;
      subscriber_->Restart("subscription: a probe did not come back within " +
                           std::to_string(options_.probe_interval.count()) + " ms");
    } else {
      probe_expected_ = "P" + probe_token_ + ":" + std::to_string(++probe_count_);
      probe_outstanding_ =
          command_->Send({"PUBLISH", keys_.announce, probe_expected_}, [](const RedisReply*) {});
    }
  }
  if (mode_ == SyncMode::kCatchingUp) CatchUp();
  {
    std::lock_guard lock(mu_);
    const auto idle = std::chrono::duration_cast<std::chrono::microseconds>(options_.tail_idle);
    tail_.DropIdle(clock_() - idle.count());
  }
  probe_timer_ = loop_.RunAfter(options_.probe_interval, [this] { Probe(); });
}

}  // namespace livefeed
