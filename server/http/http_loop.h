// One event loop of the server and the connections it serves, none of which ever holds a
// thread:
//   1. Accept: a connection beyond --max-connections is answered 503 at once.
//   2. Read: bytes go through the RequestParser; the head is judged (Routes::OnHead) before
//      a byte of body is read; the whole request goes to Routes::Handle.
//   3. Answer: response_head.cpp writes the head (with a small body, into one buffer);
//      bytes are written without blocking, the rest when the socket drains; then the next
//      request (pipelined ones in order), or the end of the connection (half-closed, what
//      the client still sends drained).
//   4. Polls and streams belong to the Delivery until answered or ended; work that
//      completes on another thread (a shared store, a worker) is posted back here.
//   5. Timers: the head (408), the body, keep-alive, writes, and the subscribers' own.
// Every answer carries the request's id (X-Request-Id, kept or made) and is recorded once,
// in the access log and the metrics (LogAccess).
// Notify, Stop and RunOnLoop are safe from any thread; everything else runs on the loop's
// thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "http/connection.h"
#include "http/delivery.h"
#include "http/event_loop.h"
#include "http/response_head.h"
#include "http/routes.h"
#include "http/server_context.h"

namespace livefeed {

class HttpLoop final : private Delivery::Host {
 public:
  HttpLoop(ServerContext& context, int listen_fd);
  ~HttpLoop() override;

  // Empty when the loop is ready to run, else what failed.
  const std::string& error() const { return error_; }

  // Serves on the calling thread until stopped and drained.
  void Run();
  // Stops accepting, answers held polls with what they have, ends streams, lets answers
  // drain (2 s at most), then closes the rest and returns from Run.
  void Stop();
  // News of items on `channel` up to id `newest`, from the store's listener on any thread.
  void Notify(const std::string& channel, std::uint64_t newest);

  // Runs `work` on the loop's thread.
  void RunOnLoop(std::function<void()> work) { loop_.Post(std::move(work)); }
  // On the loop's thread only: its subscribers of `channel` (see Delivery::Count).
  std::size_t Subscribers(const std::string& channel, std::uint64_t id) const {
    return delivery_.Count(channel, id);
  }

 private:
  using Clock = EventLoop::Clock;
  // How much one read takes from a socket, for requests and for draining alike.
  static constexpr std::size_t kReadBytes = 16 * 1024;
  // Publishers read between a round's events, and the empty reads after which one leaves.
  static constexpr std::size_t kEagerPublishers = 16;
  static constexpr int kEagerMisses = 64;

  void OnReady(std::uint64_t token, std::uint32_t events);
  void OnTimer(std::uint64_t token);
  void AfterRound();

  void Accept();
  void Refuse(int fd);
  void OnEvents(Connection& connection, std::uint32_t events);
  // Reads and serves requests until the connection waits for bytes or leaves kRequest.
  void ReadRequests(Connection& connection);
  void OnHead(Connection& connection);
  void Dispatch(Connection& connection);
  void Apply(Connection& connection, Outcome outcome);
  void StartStream(Connection& connection, SseSession session);
  void Respond(Connection& connection, const Reply& reply, const Bytes& body);
  void Respond(Connection& connection, const Reply& reply);
  ResponseHead HeadOf(const Connection& connection, const Reply& reply,
                      std::size_t body_size) const;
  // Queues `bytes` as the complete answer to the current request.
  void Finish(Connection& connection, int status, std::size_t body_bytes);
  void WriteOut(Connection& connection);
  // Connection::Flush, with what was written counted.
  Connection::Flushed Flush(Connection& connection);
  void AfterAnswer(Connection& connection);
  void ReadPublishers();
  void Linger(Connection& connection);
  void Drain(Connection& connection);
  void CloseConnection(Connection& connection);
  void Watch(Connection& connection, std::uint32_t events);
  void LogAccess(Connection& connection, int status, std::size_t bytes);
  void BeginStop();

  // Delivery::Host
  void Answer(Connection& connection, const Reply& reply, const Bytes& body) override;
  void Send(Connection& connection, const Bytes& bytes) override;
  void End(Connection& connection, const Bytes& last) override;
  // The connection is no longer the delivery's (answered, ended or gone).
  void Unsubscribe(Connection& connection);
  void Close(Connection& connection) override { CloseConnection(connection); }
  void Arm(Connection& connection, Clock::time_point at) override;
  Connection* Find(std::uint64_t id) override;
  void Post(std::function<void()> work) override { loop_.Post(std::move(work)); }
  Clock::time_point now() override { return loop_.now(); }

  ServerContext& context_;
  const int listen_fd_;
  std::string error_;
  EventLoop loop_;
  Routes routes_;
  Delivery delivery_;
  // Set by Run; read by Notify, which a store's own thread may call before Run starts.
  std::atomic<std::thread::id> thread_;
  std::unordered_map<std::uint64_t, std::unique_ptr<Connection>> connections_;
  std::uint64_t next_id_;
  std::vector<std::uint64_t> resume_;  // Connections with pipelined requests to serve.
  // Publishers read between a round's events (see ReadPublishers), with the reads that
  // found nothing since the last publish; a publisher idle for long leaves the list.
  struct EagerPublisher {
    std::uint64_t id;
    int misses = 0;
  };
  std::vector<EagerPublisher> publishers_;
  std::vector<std::uint64_t> closed_;  // Closed this round; freed at its end.
  std::size_t refusing_ = 0;           // Refused connections still lingering.
  bool stopping_ = false;
  Clock::time_point stop_deadline_;

  std::uint64_t bytes_unreported_ = 0;  // Written, not yet added to the metrics (per round).

  // News of a channel: the newest id, and when the first news of this round arrived.
  struct News {
    std::uint64_t newest = 0;
    Clock::time_point at;
  };
  std::mutex news_mu_;
  std::unordered_map<std::string, News> news_;  // Guarded by news_mu_.
  bool news_posted_ = false;                    // Guarded by news_mu_.
};

}  // namespace livefeed
