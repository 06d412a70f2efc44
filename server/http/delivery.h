// The subscribers of one event loop, held long-polls and event streams, each a session
// (transport/) plus its connection. A subscriber is a cursor, not a queue:
//   1. A new subscriber is registered in the loop's SubscriberIndex for its channels, then
//      reads the store after its cursor (a poll with items is answered at once).
//   2. News of a channel (the store's listener, through the feed and a Post to this loop)
//      marks that channel's subscribers woken.
//   3. Once per round of the loop (AfterRound) the woken are served: grouped by read key,
//      the store is read once per key, the answer (or batch of events) formatted once, and
//      the same bytes queued on every connection of the group. A stream is read only when
//      its socket has taken everything it was sent, so it holds at most one batch
//      however far behind its reader is, and a slow reader is never dropped for it.
//   4. A read the store cannot answer at once (a shared store, a cold cursor) completes
//      later, posted back to this loop; the subscribers it was for get it then.
//   5. A poll's deadline answers it with what there is; a stream's periodic check pings
//      a quiet stream, ends one whose client has taken nothing for the write timeout, and
//      ends one whose token expired with a last `event: unauthorized`.
//   6. A read the store fails (Redis down, too busy) costs no connection: a poll's first
//      read answers 503, a held poll waits on (its deadline answers as a timeout), a stream
//      keeps its cursor and reads again at the next wake or a second later. News of every
//      channel (an empty name: the store started over or came back) wakes everyone.
// What it delivers is counted in the metrics once per group, and the delivery latency once
// per answer: from the moment news of a channel reached the loop (HttpLoop::Notify) to the
// answer or events woken by it being written.
// Not thread-safe: owned by one event loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "core/store.h"
#include "core/subscriber_index.h"
#include "http/connection.h"
#include "http/woken_counts.h"
#include "metrics/metrics.h"
#include "transport/long_poll.h"
#include "transport/reply.h"
#include "transport/sse_stream.h"

namespace livefeed {

class Delivery {
 public:
  using Clock = std::chrono::steady_clock;

  // What the delivery needs from its loop.
  class Host {
   public:
    virtual ~Host() = default;
    // A poll's final answer (`reply` without its body, which is `body`).
    virtual void Answer(Connection& connection, const Reply& reply, const Bytes& body) = 0;
    // Stream bytes: queued and written as the socket takes them.
    virtual void Send(Connection& connection, const Bytes& bytes) = 0;
    // A stream's last bytes: the connection closes once they are written.
    virtual void End(Connection& connection, const Bytes& last) = 0;
    virtual void Close(Connection& connection) = 0;
    virtual void Arm(Connection& connection, Clock::time_point at) = 0;
    virtual Connection* Find(std::uint64_t id) = 0;
    // Runs `work` on the loop (from the store's thread).
    virtual void Post(std::function<void()> work) = 0;
    virtual Clock::time_point now() = 0;
  };

  Delivery(Host& host, Store& store, metrics::Registry& metrics);

  // Takes over a connection whose request is a long-poll. Answers at once when there is
  // something to say, else holds it.
  void AddPoll(Connection& connection, LongPollSession session);
  // Takes over a connection whose stream head and opening were queued. `chunked`: the
  // events are chunk-framed (HTTP/1.1); otherwise the body simply ends with the connection.
  void AddStream(Connection& connection, SseSession session, bool chunked);
  // The connection is closing: forget its subscriber.
  void Remove(Connection& connection);

  // News of items on `channel` up to id `newest`, which reached the loop at `at`. An empty
  // channel: every channel may have news.
  void OnNews(const std::string& channel, std::uint64_t newest = 0, Clock::time_point at = {});
  // A stream's socket took everything it was sent.
  void OnDrained(Connection& connection);
  void OnTimer(Connection& connection);
  void AfterRound();
  // Answers every poll with what it has and ends every stream.
  void Shutdown();

  // The subscribers of `channel`: those waiting now, or with an item id, those the news of
  // that item reached (it may have answered them already; see woken_counts.h).
  std::size_t Count(const std::string& channel, std::uint64_t id = 0) const;
  std::size_t polls() const { return polls_; }
  // Subscribers are woken and wait for the next round.
  bool busy() const { return !woken_.empty(); }
  std::size_t streams() const { return subscribers_.size() - polls_; }

  // Counted for the metrics: streams closed for not reading, streams ended at their
  // token's expiry.
  std::uint64_t stalled_streams() const { return stalled_; }
  std::uint64_t expired_streams() const { return expired_; }

 private:
  struct Subscriber {
    Connection* connection;
    std::variant<LongPollSession, SseSession> session;
    bool queued = false;   // In woken_ for the next round.
    bool reading = false;  // A read for it is in flight.
    bool woken_while_reading = false;
    bool expired = false;    // A poll whose deadline passed while it was reading.
    bool chunked = true;     // A stream's events are chunk-framed.
    bool first_read = true;  // A poll none of whose reads has completed yet.
    bool retry = false;      // A stream whose last read failed: read again at its timer.
    // The earliest news not yet answered (the latency's start), and the same for news that
    // came while a read was in flight (the next read's). Unset: none.
    Clock::time_point news_at{}, news_while_reading_at{};
  };
  // A group of subscribers waiting for one read.
  struct Group {
    std::string key;
    ReadRequest read;
    bool final = false;
    std::vector<std::uint64_t> ids;
  };

  void Wake(Subscriber& subscriber, std::uint64_t id);
  // A read for `subscriber` is done, and was sent (or not): one latency sample if news
  // woke it, and the news that came meanwhile starts the next.
  void ReadDone(Subscriber& subscriber, metrics::Transport transport, bool sent);
  // One sample, from news at `news_at` (none if unset) to now.
  void ObserveLatency(metrics::Transport transport, Clock::time_point news_at);
  // Reads for `group`, now or later, and hands the result to Deliver.
  void Read(Group group);
  void Deliver(const Group& group, const ReadResult& result);
  // A read the store could not answer; see step 6.
  void DeliverFailure(const Group& group, const ReadResult& result);
  // Returns whether events were sent.
  bool DeliverToStream(std::uint64_t id, Subscriber& subscriber, const ReadResult& result,
                       const Bytes& events, const Bytes& framed);
  // Items and truncations of `answers` answers (or batches) of `result`, once per group.
  void CountDelivered(metrics::Transport transport, const ReadResult& result, std::size_t answers);
  void Forget(std::uint64_t id);
  void EndExpired(Connection& connection, bool chunked);

  Host& host_;
  Store& store_;
  metrics::Registry& metrics_;
  SubscriberIndex index_;
  WokenCounts woken_counts_;
  std::unordered_map<std::uint64_t, Subscriber> subscribers_;
  std::vector<std::uint64_t> woken_;
  std::size_t polls_ = 0;
  std::uint64_t stalled_ = 0;
  std::uint64_t expired_ = 0;
  bool stopping_ = false;
};

}  // namespace livefeed
