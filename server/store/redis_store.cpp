#include "store/redis_store.h"

#include <algorithm>
#include <random>

#include "log.h"

namespace livefeed {
namespace {

TailLimits TailLimitsOf(const RedisStoreOptions& options) {
  TailLimits limits;
  limits.max_items = options.limits.max_items;
  limits.max_bytes = options.limits.max_bytes;
  limits.max_age_us = options.limits.max_age_us;
  limits.memory_limit = options.tail_memory;
  limits.max_channels = options.tail_channels;
  return limits;
}

std::string RandomToken() {
  std::random_device random;
  return std::to_string(random()) + std::to_string(random());
}

// Identical reads waiting for Redis share one round trip (a wake of many subscribers of a
// channel the tail does not hold yet).
std::string ReadKey(const ReadRequest& request) {
  std::string key = std::to_string(request.since) + "/" + std::to_string(request.max_items) + "/" +
                    std::to_string(request.max_bytes);
  for (const std::string& channel : request.channels) key += "/" + channel;
  return key;
}

}  // namespace

RedisStore::RedisStore(RedisStoreOptions options, WallClock clock)
    : options_(std::move(options)),
      clock_(std::move(clock)),
      keys_(options_.prefix),
      probe_token_(RandomToken()),
      tail_(TailLimitsOf(options_)) {
  detail_ = "not started";
}

RedisStore::~RedisStore() { Stop(); }

void RedisStore::Start() {
  if (started_) return;
  started_ = true;
  thread_ = std::thread([this] { loop_.Run(); });
  loop_.Post([this] {
    command_ = std::make_unique<RedisLink>(loop_, options_.endpoint, options_.timing, "commands",
                                           RedisLink::Events{[this] { LoadScripts(); },
                                                             [this](const std::string&) {
                                                               usable_ = false;
                                                               UpdateHealth();
                                                             }});
    subscriber_ = std::make_unique<RedisLink>(
        loop_, options_.endpoint, options_.timing, "subscription",
        RedisLink::Events{[this] { OnSubscriberReady(); },
                          [this](const std::string&) { OnSubscriberDown(); }});
    command_->Start();
    subscriber_->Start();
    probe_timer_ = loop_.RunAfter(options_.probe_interval, [this] { Probe(); });
  });
}

void RedisStore::Stop() {
  if (!started_) return;
  started_ = false;
  {
    std::lock_guard lock(post_mu_);
    stopping_ = true;
  }
  loop_.Post([this] {
    loop_.Cancel(probe_timer_);
    usable_ = false;
    // Every command still waiting gets nullptr, so its caller hears kUnavailable.
    command_->Stop();
    subscriber_->Stop();
    command_.reset();
    subscriber_.reset();
  });
  loop_.Stop();
  thread_.join();
}

bool RedisStore::PostOperation(std::function<void()> task, bool behind_publish) {
  std::lock_guard lock(post_mu_);
  if (stopping_) return false;
  if (behind_publish) {
    loop_.PostBehindReply(std::move(task));
  } else {
    loop_.Post(std::move(task));
  }
  return true;
}

std::optional<AppendResult> RedisStore::Append(AppendRequest request, AppendDone done) {
  if (request.drafts.empty()) return AppendResult{};
  // Refused at once, without a round trip, while Redis is known to be unreachable.
  if (!usable_) return AppendResult{StoreStatus::kUnavailable, {}, false};
  if (in_flight_.fetch_add(1) >= options_.max_in_flight) {
    --in_flight_;
    return AppendResult{StoreStatus::kBusy, {}, false};
  }
  auto shared = std::make_shared<AppendRequest>(std::move(request));
  // A publish that comes while a publish call is at Redis only queues for the next call,
  // which that call's reply sends: it need not wake the store's thread before then.
  if (!PostOperation([this, shared, done] { DoAppend(shared, done); }, true)) {
    --in_flight_;
    return AppendResult{StoreStatus::kUnavailable, {}, false};
  }
  return std::nullopt;
}

void RedisStore::Complete(const AppendDone& done, AppendResult result) {
  --in_flight_;
  done(std::move(result));
}

// Group commit: the publishes that reach the loop in one turn go to Redis as one call (one
// script run, log entry and announcement for all), sent at the turn's end. A lone publish
// still goes at once; under load one round trip serves many. Past kMaxPublishCalls calls at
// Redis, publishes wait for a reply, and the calls after it carry them.
void RedisStore::DoAppend(std::shared_ptr<AppendRequest> request, AppendDone done) {
  appends_.push_back(PendingAppend{std::move(request), std::move(done)});
  if (send_pending_) return;
  send_pending_ = true;
  loop_.AtTurnEnd([this] {
    send_pending_ = false;
    SendAppends();
  });
}

void RedisStore::SendAppends() {
  if (!usable_) {
    std::deque<PendingAppend> refused;
    refused.swap(appends_);
    for (const PendingAppend& append : refused) {
      Complete(append.done, {StoreStatus::kUnavailable, {}, false});
    }
    return;
  }
  while (!appends_.empty() && publish_calls_ < kMaxPublishCalls) {
    auto group = std::make_shared<std::vector<PendingAppend>>(TakeGroup());
    std::vector<const AppendRequest*> requests;
    for (const PendingAppend& append : *group) requests.push_back(append.request.get());
    if (publish_calls_++ == 0) loop_.ExpectReply(true);
    SendScript(PublishCommand(keys_, options_.limits, requests), PublishScript(), publish_sha_,
               [this, group](const RedisReply* reply) {
                 if (--publish_calls_ == 0) loop_.ExpectReply(false);
                 FinishAppends(*group, reply);
                 SendAppends();
               });
  }
}

std::vector<RedisStore::PendingAppend> RedisStore::TakeGroup() {
  std::vector<PendingAppend> group;
  std::size_t items = 0, bytes = 0;
  while (!appends_.empty() && group.size() < kMaxGroup) {
    const AppendRequest& next = *appends_.front().request;
    std::size_t next_bytes = 0;
    for (const ItemDraft& draft : next.drafts) next_bytes += draft.data_json.size();
    const bool fits =
        items + next.drafts.size() <= kMaxGroupItems && bytes + next_bytes <= kMaxGroupBytes;
    if (!group.empty() && !fits) break;
    items += next.drafts.size();
    bytes += next_bytes;
    group.push_back(std::move(appends_.front()));
    appends_.pop_front();
  }
  return group;
}

void RedisStore::FinishAppends(std::vector<PendingAppend>& group, const RedisReply* reply) {
  // Lost before the reply: the items may or may not be in Redis, so the publishers are
  // told to retry (with an Idempotency-Key, that is safe).
  const bool parsed =
      reply && reply->type == RedisReply::Type::kArray && reply->elements.size() == group.size();
  StoreStatus failed = StoreStatus::kUnavailable;
  if (reply && !parsed) {
    ++extra_errors_;
    // Redis at its maxmemory refuses writes: like a full store, not an outage.
    if (reply->is_error() && reply->str.rfind("OOM", 0) == 0) failed = StoreStatus::kFull;
  }
  std::vector<PendingAppend> again;
  for (std::size_t i = 0; i < group.size(); ++i) {
    PendingAppend& append = group[i];
    if (!parsed) {
      Complete(append.done, {failed, {}, false});
      continue;
    }
    std::optional<AppendResult> result = ParsePublishOutcome(reply->elements[i], *append.request);
    // The script never defers the first of a group; were it to, no call would progress.
    if (!result && i == 0) result = AppendResult{StoreStatus::kUnavailable, {}, false};
    if (!result) {
      again.push_back(std::move(append));
      continue;
    }
    if (result->status == StoreStatus::kUnavailable) ++extra_errors_;
    Complete(append.done, std::move(*result));
  }
  // Deferred ones go first in the next call, keeping the order they came in.
  for (auto it = again.rbegin(); it != again.rend(); ++it) appends_.push_front(std::move(*it));
}

std::optional<ReadResult> RedisStore::Read(const ReadRequest& request, ReadDone done) {
  {
    std::lock_guard lock(mu_);
    std::optional<ReadResult> now = tail_.Read(request, head_.load(), origin_, clock_());
    if (now) return now;
  }
  ReadResult refused;
  refused.head = head_.load();
  refused.status = StoreStatus::kUnavailable;
  if (!usable_) return refused;
  if (in_flight_.fetch_add(1) >= options_.max_in_flight) {
    --in_flight_;
    refused.status = StoreStatus::kBusy;
    return refused;
  }
  if (!PostOperation([this, request, done] { DoRead(request, done); })) {
    --in_flight_;
    return refused;
  }
  return std::nullopt;
}

void RedisStore::DoRead(const ReadRequest& request, ReadDone done) {
  const std::string key = ReadKey(request);
  auto [it, fresh] = reads_.try_emplace(key);
  it->second.push_back(std::move(done));
  if (!fresh) return;
  if (!usable_) return FinishRead(request, key, nullptr);
  SendScript(ReadCommand(keys_, options_.limits, request), ReadScript(), read_sha_,
             [this, request, key](const RedisReply* reply) { FinishRead(request, key, reply); });
}

void RedisStore::FinishRead(const ReadRequest& request, const std::string& key,
                            const RedisReply* reply) {
  auto node = reads_.extract(key);
  ReadResult result;
  std::optional<RedisReadReply> parsed;
  if (reply && !reply->is_error()) parsed = ParseReadReply(*reply, request);
  if (reply && !parsed) ++extra_errors_;
  if (!parsed) {
    result.status = StoreStatus::kUnavailable;
    result.head = head_.load();
  } else {
    result.truncated = parsed->truncated;
    MergeSlices(parsed->slices, request, kMaxId, &result);
    result.head = std::max(parsed->head, head_.load());
    evictions_ += parsed->evicted;
    // What Redis answered starts (or extends) the channels' tails, so that the next reads
    // after this cursor are answered from memory.
    if (mode_ == SyncMode::kLive && !parsed->truncated) {
      std::lock_guard lock(mu_);
      const std::int64_t now_us = clock_();
      for (std::size_t c = 0; c < request.channels.size(); ++c) {
        const ChannelSlice& slice = parsed->slices[c];
        if (!slice.complete && slice.items.empty()) continue;
        const std::uint64_t upto = slice.complete ? parsed->head : slice.items.back()->id;
        tail_.Fill(request.channels[c], request.since, slice.items, parsed->trimmed[c], upto,
                   head_.load(), now_us);
      }
    }
  }
  for (const ReadDone& done : node.mapped()) {
    --in_flight_;
    done(result);
  }
}

void RedisStore::SendScript(ScriptArgs args, const std::string& script, const std::string& sha,
                            RedisConnection::OnReply on_reply) {
  auto shared = std::make_shared<ScriptArgs>(std::move(args));
  auto on_evalsha = [this, shared, &script, on_reply](const RedisReply* reply) {
    if (reply && reply->is_error() && reply->str.rfind("NOSCRIPT", 0) == 0) {
      if (!command_->Send(shared->Call("EVAL", script), on_reply)) on_reply(nullptr);
      return;
    }
    on_reply(reply);
  };
  if (!command_ || !command_->Send(shared->Call("EVALSHA", sha), std::move(on_evalsha))) {
    on_reply(nullptr);
  }
}

void RedisStore::LoadScripts() {
  struct Load {
    const std::string* script;
    std::string* sha;
  };
  const Load loads[] = {
      {&PublishScript(), &publish_sha_}, {&ReadScript(), &read_sha_}, {&SyncScript(), &sync_sha_}};
  for (std::size_t i = 0; i < 3; ++i) {
    const bool last = i == 2;
    command_->Send({"SCRIPT", "LOAD", *loads[i].script},
                   [this, load = loads[i], last](const RedisReply* reply) {
                     if (!reply) return;  // The link reports the loss.
                     if (reply->type != RedisReply::Type::kString) {
                       command_->Restart("commands: SCRIPT LOAD failed: " + reply->str);
                       return;
                     }
                     *load.sha = reply->str;
                     if (!last) return;
                     usable_ = true;
                     UpdateHealth();
                     if (mode_ == SyncMode::kCatchingUp) CatchUp();
                     // Live all along, but reads failed while commands could not be sent.
                     if (mode_ == SyncMode::kLive) WakeAll();
                   });
  }
}

void RedisStore::UpdateHealth() {
  std::string changed;
  {
    std::lock_guard lock(mu_);
    errors_ = command_->errors() + subscriber_->errors();
    reconnects_ = command_->reconnects() + subscriber_->reconnects();
    const std::string before = detail_;
    if (!usable_) {
      detail_ = command_->last_error().empty() ? "loading scripts" : command_->last_error();
    } else if (!subscribed_) {
      detail_ = subscriber_->last_error().empty() ? "subscribing" : subscriber_->last_error();
    } else {
      detail_.clear();
    }
    if (detail_ != before) changed = detail_;
    if (detail_ != before && detail_.empty()) changed = "up";
  }
  // Once per change, not per retry: an outage logs its cause and its end.
  if (changed == "up") {
    Log(LogLevel::kInfo, "redis store: connected to " + DescribeEndpoint(options_.endpoint));
  } else if (!changed.empty() && changed != "loading scripts" && changed != "subscribing") {
    Log(LogLevel::kWarn, "redis store: down: " + changed);
  }
}

StoreHealth RedisStore::Health() {
  StoreHealth health;
  health.up = usable_ && subscribed_flag_;
  std::lock_guard lock(mu_);
  if (!health.up) health.detail = detail_;
  health.errors = errors_ + extra_errors_;
  health.reconnects = reconnects_;
  health.evictions = evictions_;
  return health;
}

std::vector<ChannelStats> RedisStore::Channels(const std::string& after, std::size_t limit) {
  std::vector<ChannelStats> out;
  std::lock_guard lock(mu_);
  for (auto it = stats_.upper_bound(after); it != stats_.end() && out.size() < limit; ++it) {
    out.push_back(it->second);
  }
  return out;
}

bool RedisStore::TailHolds(const std::string& channel) {
  std::lock_guard lock(mu_);
  return tail_.Holds(channel);
}

}  // namespace livefeed
