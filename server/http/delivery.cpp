#include "http/delivery.h"

#include <cstdio>
#include <optional>
#include <utility>

#include "transport/auth/auth_decision.h"

namespace livefeed {
namespace {

std::string Chunk(std::string_view data) {
  char size[24];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  std::string chunk = size;
  chunk.append(data);
  chunk += "\r\n";
  return chunk;
}

const Bytes& PingChunk() {
  static const Bytes ping = std::make_shared<const std::string>(Chunk(kSsePing));
  return ping;
}

const Bytes& Ping() {
  static const Bytes ping = std::make_shared<const std::string>(kSsePing);
  return ping;
}

// A stream whose read failed (the store down or busy) tries again after this, unless
// news wakes it first.
constexpr auto kRetryAfterFailure = std::chrono::seconds(1);

const Bytes& LastChunk() {
  static const Bytes last = std::make_shared<const std::string>("0\r\n\r\n");
  return last;
}

}  // namespace

Delivery::Delivery(Host& host, Store& store, metrics::Registry& metrics)
    : host_(host), store_(store), metrics_(metrics) {}

std::size_t Delivery::Count(const std::string& channel, std::uint64_t id) const {
  if (id != 0) {
    if (std::optional<std::size_t> woken = woken_counts_.Find(channel, id)) return *woken;
  }
  return index_.Count(channel);
}

void Delivery::AddPoll(Connection& connection, LongPollSession session) {
  const std::uint64_t id = connection.id;
  // Registered before the first read: news that comes while it reads is not missed.
  index_.Add(id, session.channels());
  const bool from_now = session.from_now();
  if (from_now) session.StartAt(store_.Head());
  const Clock::time_point deadline = session.deadline();
  auto [it, fresh] = subscribers_.emplace(id, Subscriber{&connection, std::move(session)});
  ++polls_;
  // A poll from now is held from the start: it has no first read to fail.
  it->second.first_read = !from_now;
  connection.phase = Connection::Phase::kSubscribed;
  host_.Arm(connection, deadline);
  // Nothing can be after "now" yet; any other cursor may have items already.
  if (!from_now) Wake(it->second, id);
}

void Delivery::AddStream(Connection& connection, SseSession session, bool chunked) {
  const std::uint64_t id = connection.id;
  index_.Add(id, session.channels());
  if (session.from_now()) session.StartAt(store_.Head());
  const bool catch_up = session.wants_read();
  // The first check comes after a quiet ping interval.
  Clock::time_point next;
  session.OnTimer(host_.now(), false, host_.now(), next);
  auto [it, fresh] = subscribers_.emplace(id, Subscriber{&connection, std::move(session)});
  it->second.chunked = chunked;
  connection.phase = Connection::Phase::kSubscribed;
  host_.Arm(connection, next);
  if (catch_up) Wake(it->second, id);
}

void Delivery::Remove(Connection& connection) { Forget(connection.id); }

void Delivery::Forget(std::uint64_t id) {
  auto it = subscribers_.find(id);
  if (it == subscribers_.end()) return;
  const auto& session = it->second.session;
  if (const auto* poll = std::get_if<LongPollSession>(&session)) {
    index_.Remove(id, poll->channels());
    --polls_;
  } else {
    index_.Remove(id, std::get<SseSession>(session).channels());
  }
  subscribers_.erase(it);
}

void Delivery::Wake(Subscriber& subscriber, std::uint64_t id) {
  if (subscriber.reading) {
    subscriber.woken_while_reading = true;
    return;
  }
  if (auto* stream = std::get_if<SseSession>(&subscriber.session)) stream->Wake();
  if (subscriber.queued) return;
  subscriber.queued = true;
  woken_.push_back(id);
}

void Delivery::OnNews(const std::string& channel, std::uint64_t newest, Clock::time_point at) {
  if (channel.empty()) {
    // Every channel may have news (the store started over or came back): all read again.
    // What they read then was not published just now: no latency is measured from it.
    for (auto& [id, subscriber] : subscribers_) Wake(subscriber, id);
    return;
  }
  const auto& ids = index_.Of(channel);
  if (newest != 0) woken_counts_.Record(channel, newest, ids.size(), host_.now());
  for (std::uint64_t id : ids) {
    Subscriber& subscriber = subscribers_.at(id);
    if (at != Clock::time_point()) {
      // A read in flight may have missed this news: its time is the next read's.
      Clock::time_point& start =
          subscriber.reading ? subscriber.news_while_reading_at : subscriber.news_at;
      if (start == Clock::time_point()) start = at;
    }
    Wake(subscriber, id);
  }
}

void Delivery::ObserveLatency(metrics::Transport transport, Clock::time_point news_at) {
  if (news_at != Clock::time_point()) {
    metrics_.delivery_latency[transport].Observe(Clock::now() - news_at);
  }
}

void Delivery::ReadDone(Subscriber& subscriber, metrics::Transport transport, bool sent) {
  if (sent) ObserveLatency(transport, subscriber.news_at);
  subscriber.news_at = subscriber.news_while_reading_at;
  subscriber.news_while_reading_at = {};
}

void Delivery::OnDrained(Connection& connection) {
  auto it = subscribers_.find(connection.id);
  if (it == subscribers_.end()) return;
  const auto* stream = std::get_if<SseSession>(&it->second.session);
  if (stream && stream->wants_read()) Wake(it->second, connection.id);
}

void Delivery::AfterRound() {
  if (woken_.empty()) return;
  std::vector<std::uint64_t> woken;
  woken.swap(woken_);
  // Subscribers that ask the same read get the same answer: one read, one format per key.
  std::unordered_map<std::string, Group> groups;
  for (std::uint64_t id : woken) {
    auto it = subscribers_.find(id);
    if (it == subscribers_.end()) continue;
    Subscriber& subscriber = it->second;
    subscriber.queued = false;
    if (subscriber.reading) continue;
    std::string key;
    ReadRequest read;
    if (const auto* poll = std::get_if<LongPollSession>(&subscriber.session)) {
      key = poll->ReadKey(/*final=*/false);
      read = poll->NextRead();
    } else {
      auto& stream = std::get<SseSession>(subscriber.session);
      // A stream with bytes still unsent reads again once they are taken (OnDrained).
      if (subscriber.connection->unsent() || !stream.wants_read()) continue;
      key = stream.ReadKey();
      read = stream.BeginRead();
    }
    auto [slot, fresh] = groups.try_emplace(key);
    if (fresh) {
      slot->second.key = key;
      slot->second.read = std::move(read);
    }
    slot->second.ids.push_back(id);
  }
  for (auto& [key, group] : groups) Read(std::move(group));
}

void Delivery::Read(Group group) {
  for (std::uint64_t id : group.ids) subscribers_.at(id).reading = true;
  // The completion may come on the store's thread: it goes back to the loop, where the
  // group's subscribers are looked up again (some may have left meanwhile).
  auto later = [this, &host = host_, group](ReadResult result) mutable {
    host.Post(
        [this, group = std::move(group), result = std::move(result)] { Deliver(group, result); });
  };
  std::optional<ReadResult> now = store_.Read(group.read, std::move(later));
  if (now) Deliver(group, *now);
}

void Delivery::Deliver(const Group& group, const ReadResult& result) {
  if (result.status != StoreStatus::kOk) return DeliverFailure(group, result);
  std::optional<Reply> answer;
  Bytes body;            // A poll's answer body.
  Bytes events, framed;  // A stream's events, and the same chunk-framed.
  bool answered = false;
  std::size_t polls_answered = 0, streams_sent = 0;
  for (std::uint64_t id : group.ids) {
    auto it = subscribers_.find(id);
    if (it == subscribers_.end()) continue;
    Subscriber& subscriber = it->second;
    subscriber.reading = false;
    if (auto* stream = std::get_if<SseSession>(&subscriber.session)) {
      if (!events) {
        events = std::make_shared<const std::string>(stream->Format(result));
        framed = std::make_shared<const std::string>(Chunk(*events));
      }
      if (DeliverToStream(id, subscriber, result, events, framed)) ++streams_sent;
      continue;
    }
    const auto& poll = std::get<LongPollSession>(subscriber.session);
    subscriber.first_read = false;
    if (!answered) {
      answered = true;
      answer = poll.Answer(result, group.final || stopping_);
      if (answer) body = std::make_shared<const std::string>(std::move(answer->body));
    }
    if (!answer) {
      // Nothing yet: it waits on, reading again if news came during this read, or for its
      // final answer if its deadline passed during it.
      ReadDone(subscriber, metrics::Transport::kLongPoll, false);
      if (subscriber.expired) {
        Read({poll.ReadKey(/*final=*/true), poll.NextRead(), /*final=*/true, {id}});
      } else if (subscriber.woken_while_reading) {
        subscriber.woken_while_reading = false;
        Wake(subscriber, id);
      }
      continue;
    }
    Connection& connection = *subscriber.connection;
    const Clock::time_point news_at = subscriber.news_at;
    Forget(id);
    host_.Answer(connection, *answer, body);
    ++polls_answered;
    // Written by now (as much as the socket takes): the sample's end.
    ObserveLatency(metrics::Transport::kLongPoll, news_at);
  }
  CountDelivered(metrics::Transport::kLongPoll, result, polls_answered);
  CountDelivered(metrics::Transport::kSse, result, streams_sent);
}

void Delivery::CountDelivered(metrics::Transport transport, const ReadResult& result,
                              std::size_t answers) {
  if (answers == 0) return;
  metrics_.items_delivered[transport].Add(answers * result.items.size());
  if (result.truncated) metrics_.truncated_answers[transport].Add(answers);
}

void Delivery::DeliverFailure(const Group& group, const ReadResult& result) {
  for (std::uint64_t id : group.ids) {
    auto it = subscribers_.find(id);
    if (it == subscribers_.end()) continue;
    Subscriber& subscriber = it->second;
    subscriber.reading = false;
    const bool woken = std::exchange(subscriber.woken_while_reading, false);
    Connection& connection = *subscriber.connection;
    if (std::holds_alternative<SseSession>(subscriber.session)) {
      // Nothing is sent and the cursor stays; the stream reads again when woken, or soon.
      subscriber.retry = true;
      if (woken) Wake(subscriber, id);
      host_.Arm(connection, host_.now() + kRetryAfterFailure);
      continue;
    }
    const auto& poll = std::get<LongPollSession>(subscriber.session);
    std::optional<Reply> reply;
    if (group.final || subscriber.expired || stopping_) {
      // Held to its deadline: it times out as usual, at its own cursor.
      ReadResult nothing;
      nothing.head = result.head;
      reply = poll.Answer(nothing, /*final=*/true);
    } else if (subscriber.first_read) {
      // Its first read: the client hears why at once and retries (503 + Retry-After).
      reply = poll.Answer(result, /*final=*/false);
    }
    if (reply) {
      Forget(id);
      host_.Answer(connection, *reply, std::make_shared<const std::string>(reply->body));
    } else if (woken) {
      Wake(subscriber, id);
    }
  }
}

bool Delivery::DeliverToStream(std::uint64_t id, Subscriber& subscriber, const ReadResult& result,
                               const Bytes& events, const Bytes& framed) {
  auto& stream = std::get<SseSession>(subscriber.session);
  stream.Advance(result);
  subscriber.retry = false;
  if (subscriber.woken_while_reading) {
    subscriber.woken_while_reading = false;
    stream.Wake();
  }
  // An empty read (woken by news already sent) sends nothing: an empty chunk would end
  // the chunked body.
  const bool sent = !events->empty();
  if (sent) host_.Send(*subscriber.connection, subscriber.chunked ? framed : events);
  // Still subscribed (the send may have failed and closed it) and everything taken: the
  // next batch, if any, in the next round.
  auto it = subscribers_.find(id);
  if (it == subscribers_.end()) return sent;
  ReadDone(it->second, metrics::Transport::kSse, sent);
  const auto& still = std::get<SseSession>(it->second.session);
  if (!it->second.connection->unsent() && still.wants_read()) Wake(it->second, id);
  return sent;
}

void Delivery::OnTimer(Connection& connection) {
  auto it = subscribers_.find(connection.id);
  if (it == subscribers_.end()) return;
  Subscriber& subscriber = it->second;
  if (auto* poll = std::get_if<LongPollSession>(&subscriber.session)) {
    if (subscriber.reading) {
      // The read in flight ends it: with items, or with a final read of its own.
      subscriber.expired = true;
      return;
    }
    Read({poll->ReadKey(/*final=*/true), poll->NextRead(), /*final=*/true, {connection.id}});
    return;
  }
  auto& stream = std::get<SseSession>(subscriber.session);
  if (std::exchange(subscriber.retry, false)) Wake(subscriber, connection.id);
  Clock::time_point next;
  switch (stream.OnTimer(host_.now(), connection.unsent(), connection.last_progress, next)) {
    case SseSession::Check::kStalled:
      ++stalled_;
      metrics_.slow_streams_dropped.Increment();
      host_.Close(connection);
      return;
    case SseSession::Check::kExpired:
      return EndExpired(connection, subscriber.chunked);
    case SseSession::Check::kPing:
      host_.Send(connection, subscriber.chunked ? PingChunk() : Ping());
      break;
    case SseSession::Check::kNothing:
      break;
  }
  if (subscribers_.count(connection.id)) host_.Arm(connection, next);
}

void Delivery::EndExpired(Connection& connection, bool chunked) {
  // The last event says why (no id: the client's Last-Event-ID stays at its last item),
  // then the body ends; the client comes back with a fresh token and resumes from there.
  std::string last;
  AppendUnauthorizedEvent(last, "token expired");
  if (chunked) last = Chunk(last) + *LastChunk();
  ++expired_;
  Forget(connection.id);
  host_.End(connection, std::make_shared<const std::string>(std::move(last)));
}

void Delivery::Shutdown() {
  stopping_ = true;
  std::vector<std::uint64_t> polls, streams;
  for (auto& [id, subscriber] : subscribers_) {
    (std::holds_alternative<LongPollSession>(subscriber.session) ? polls : streams).push_back(id);
  }
  for (std::uint64_t id : polls) {
    auto it = subscribers_.find(id);
    if (it == subscribers_.end() || it->second.reading) continue;
    it->second.connection->close_after = true;
    OnTimer(*it->second.connection);
  }
  // A stream ends with the last chunk: the browser reconnects to the restarted server.
  for (std::uint64_t id : streams) {
    auto it = subscribers_.find(id);
    if (it == subscribers_.end()) continue;
    Connection& connection = *it->second.connection;
    const bool chunked = it->second.chunked;
    Forget(id);
    host_.End(connection, chunked ? LastChunk() : std::make_shared<const std::string>());
  }
}

}  // namespace livefeed
