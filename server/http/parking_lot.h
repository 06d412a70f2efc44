// Holds the requests that wait for items, long-polls and event streams, without a thread,
// and the keep-alive connections they return to, in one epoll thread.
//   1. A long-poll that finds nothing, or any event stream, is parked: its thread hands the
//      connection over and ends. Its waiter stays registered on the feed; the waiter's
//      wake callback queues the connection here.
//   2. On a wake the lot reads the store once per distinct (channels, cursor) among the
//      woken, formats that answer (or those events) once, and queues the same bytes on
//      every such connection. Sockets are written non-blocking; what one does not take now
//      is sent when it becomes writable.
//   3. A poll is answered once: at its deadline with no items; a stream lasts, with a ping
//      when it has been quiet for the ping interval. A stream whose client does not read is
//      dropped once its queue passes kMaxStreamQueue (the browser resumes from
//      Last-Event-ID); a client that closes its side is dropped at once.
//   4. An answered poll's connection waits here for its next request. A re-poll that has
//      arrived whole is served right here (`serve_inline`, which never blocks): no thread
//      hand-off for the commonest request of all. Anything else goes back to a thread
//      (`resume`). After the keep-alive timeout the connection is closed.
//   5. Stop answers every parked poll with what it has, ends every stream, closes the rest.
// Park and Stop are safe from any thread; all other work runs on the lot's own thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/feed.h"
#include "http/connection.h"
#include "transport/reply.h"
#include "transport/sse_stream.h"

namespace livefeed {

class ParkingLot {
 public:
  enum class InlineOutcome { kNotServed, kParked, kAnswered, kClose };
  struct Callbacks {
    // Serves the connection's next request here if it can without blocking: kParked (its
    // `parked` is set and registered), kAnswered or kClose (with `output` to send first),
    // or kNotServed (untouched).
    std::function<InlineOutcome(Connection&, std::string& output)> serve_inline;
    // Serve the connection's next request on a thread.
    std::function<void(std::unique_ptr<Connection>)> resume;
    // Close the connection and count it gone.
    std::function<void(std::unique_ptr<Connection>)> close;
  };
  struct Options {
    std::chrono::seconds keep_alive{75};
    std::chrono::seconds write_timeout{10};
    SseOptions sse;
  };

  // Bytes a stream may have queued for a client that does not read before it is dropped.
  static constexpr std::size_t kMaxStreamQueue = 256 * 1024;

  ParkingLot(Feed& feed, Options options, Callbacks callbacks);
  ~ParkingLot();

  ParkingLot(const ParkingLot&) = delete;
  ParkingLot& operator=(const ParkingLot&) = delete;

  // Takes over a connection whose `parked` request is registered on the feed. Refuses (and
  // leaves `connection` alone) once stopping: the caller then answers on its own thread.
  bool Park(std::unique_ptr<Connection>& connection);

  // Answers the parked polls, ends the streams, closes everything, ends the lot's thread.
  void Stop();

  // The status line and headers of `reply` (its body is `body_size` bytes) plus
  // `extra_headers` lines, ending the connection after it when `close`.
  static std::string FormatHead(const Reply& reply, std::size_t body_size,
                                const std::string& extra_headers, bool close,
                                std::chrono::seconds keep_alive);

 private:
  using Clock = std::chrono::steady_clock;
  using Bytes = std::shared_ptr<const std::string>;
  enum class State { kParked, kSending, kIdle, kStreaming };
  struct Entry;
  struct Answer;

  void Run();
  // Queued by a waiter's wake callback (any thread).
  void Wake(std::uint64_t id);
  // REQUIRES: queue_mu_ held.
  void Signal();

  // The rest runs on the lot's thread only.
  void Admit(std::uint64_t id, std::unique_ptr<Connection> connection);
  void OnEvent(std::uint64_t id, std::uint32_t events);
  // Answers those of `ids` that are parked polls with something to say (all of them when
  // `final`), and sends woken streams what is new.
  void Serve(const std::vector<std::uint64_t>& ids, bool final);
  void ExpireTimers();
  void AnswerPoll(Entry& entry, Answer& answer);
  void Queue(Entry& entry, Bytes bytes);
  // Writes what is queued; returns false when the entry was closed.
  bool Flush(Entry& entry);
  void AfterPollSent(Entry& entry);
  // Its next request arrived: served here if it can be, else handed to a thread.
  void OnRequest(Entry& entry);
  // A poll waits for items, watched only for its client leaving, until its deadline.
  void Hold(Entry& entry, bool add);
  void SetTimer(Entry& entry, Clock::time_point deadline);
  void Watch(Entry& entry, std::uint32_t events, bool add);
  // Takes the entry out of the lot (map, timers, epoll).
  std::unique_ptr<Entry> Release(std::uint64_t id);
  void Resume(std::uint64_t id);
  void Close(std::uint64_t id);
  void EndWait(Entry& entry);
  void Shutdown();

  Feed& feed_;
  const Options options_;
  const Callbacks callbacks_;
  const int epoll_fd_;
  const int event_fd_;
  const Bytes ping_;        // A ping comment, chunk-framed.
  const Bytes last_chunk_;  // The end of a chunked stream.
  std::atomic<std::uint64_t> next_id_{1};

  std::mutex queue_mu_;
  // Guarded by queue_mu_.
  std::vector<std::pair<std::uint64_t, std::unique_ptr<Connection>>> incoming_;
  std::vector<std::uint64_t> woken_;  // Guarded by queue_mu_.
  bool stop_requested_ = false;       // Guarded by queue_mu_.
  bool signalled_ = false;            // Guarded by queue_mu_.

  // Owned by the lot's thread.
  std::unordered_map<std::uint64_t, std::unique_ptr<Entry>> entries_;
  std::multimap<Clock::time_point, std::uint64_t> timers_;

  std::once_flag stop_once_;
  std::thread thread_;
};

}  // namespace livefeed
