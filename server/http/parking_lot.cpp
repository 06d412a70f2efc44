#include "http/parking_lot.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <deque>

#include "log.h"
#include "transport/long_poll.h"

namespace livefeed {

struct ParkingLot::Entry {
  std::uint64_t id = 0;
  std::unique_ptr<Connection> connection;
  State state = State::kParked;
  std::multimap<Clock::time_point, std::uint64_t>::iterator timer;
  bool has_timer = false;
  // Bytes to send, in order. Buffers are shared: every client woken by one publish gets
  // the same answer (or events) from one buffer.
  std::deque<Bytes> queue;
  std::size_t front_sent = 0;    // Bytes of queue.front() already sent.
  std::size_t queued_bytes = 0;  // Not yet sent, over the whole queue.
  std::size_t sent_total = 0;
  Clock::time_point last_progress;
  bool watching_out = false;
  bool close_after_send = false;
};

// What one (channels, cursor) has to say, shared by the woken clients that ask the same.
struct ParkingLot::Answer {
  bool pending = false;      // Nothing to say yet.
  bool drop = false;         // A stream that cannot go on (the store failed): the browser
                             // reconnects and resumes.
  bool more = false;         // A stream got a full batch: read again at once.
  Reply reply;               // A poll's status and headers; the body is in `body`.
  Bytes body;                // A poll's body, or a stream's events, chunk-framed.
  Bytes shared_head;         // A poll's head for clients that need no headers of their own.
  std::uint64_t cursor = 0;  // Where a stream goes on from.
};

namespace {

constexpr std::uint64_t kEventTag = 0;

const char* Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 503:
      return "Service Unavailable";
    default:
      return "Error";
  }
}

// Polls and the two kinds of stream never share an answer.
std::string AnswerKey(const ParkedRequest& parked) {
  std::string key = parked.kind == ParkedRequest::Kind::kPoll ? "p" : parked.typed ? "t" : "u";
  key += std::to_string(parked.request.since);
  for (const auto& channel : parked.request.channels) {
    key += '|';
    key += channel;
  }
  return key;
}

std::string Chunk(std::string_view data) {
  char size[20];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  std::string chunk = size;
  chunk.append(data);
  chunk += "\r\n";
  return chunk;
}

}  // namespace

ParkingLot::ParkingLot(Feed& feed, Options options, Callbacks callbacks)
    : feed_(feed),
      options_(options),
      callbacks_(std::move(callbacks)),
      epoll_fd_(::epoll_create1(EPOLL_CLOEXEC)),
      event_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      ping_(std::make_shared<const std::string>(Chunk(kSsePing))),
      last_chunk_(std::make_shared<const std::string>("0\r\n\r\n")) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kEventTag;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, event_fd_, &ev);
  thread_ = std::thread([this] { Run(); });
}

ParkingLot::~ParkingLot() {
  Stop();
  ::close(event_fd_);
  ::close(epoll_fd_);
}

void ParkingLot::Signal() {
  // One eventfd write per batch: wakes that pile up while the lot is busy cost a vector
  // push each, not a system call each.
  if (signalled_) return;
  signalled_ = true;
  const std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(event_fd_, &one, sizeof one);
}

bool ParkingLot::Park(std::unique_ptr<Connection>& connection) {
  const std::uint64_t id = next_id_++;
  std::shared_ptr<Waiter> waiter = connection->parked->waiter;
  {
    std::lock_guard lock(queue_mu_);
    if (stop_requested_) return false;
    incoming_.emplace_back(id, std::move(connection));
    Signal();
  }
  // After queuing: a wake that came before this runs the callback at once, and the lot
  // admits the connection before it looks at the wakes of the same batch.
  waiter->SetOnWake([this, id] { Wake(id); });
  return true;
}

std::string ParkingLot::FormatHead(const Reply& reply, std::size_t body_size,
                                   const std::string& extra_headers, bool close,
                                   std::chrono::seconds keep_alive) {
  std::string headers = "Content-Type: " + reply.content_type + "\r\n";
  for (const auto& [name, value] : reply.headers) headers += name + ": " + value + "\r\n";
  return "HTTP/1.1 " + std::to_string(reply.status) + " " + Reason(reply.status) + "\r\n" +
         headers + extra_headers + "Content-Length: " + std::to_string(body_size) + "\r\n" +
         (close ? std::string("Connection: close\r\n")
                : "Keep-Alive: timeout=" + std::to_string(keep_alive.count()) + "\r\n") +
         "\r\n";
}

void ParkingLot::Wake(std::uint64_t id) {
  std::lock_guard lock(queue_mu_);
  woken_.push_back(id);
  Signal();
}

void ParkingLot::Stop() {
  std::call_once(stop_once_, [this] {
    {
      std::lock_guard lock(queue_mu_);
      stop_requested_ = true;
      signalled_ = false;
      Signal();
    }
    thread_.join();
  });
}

void ParkingLot::Run() {
  epoll_event events[512];
  for (;;) {
    int timeout_ms = -1;
    if (!timers_.empty()) {
      const auto left =
          std::chrono::ceil<std::chrono::milliseconds>(timers_.begin()->first - Clock::now());
      timeout_ms = static_cast<int>(std::max<long>(left.count(), 0));
    }
    const int n = ::epoll_wait(epoll_fd_, events, 512, timeout_ms);
    for (int i = 0; i < n; ++i) {
      if (events[i].data.u64 == kEventTag) {
        std::uint64_t count;
        [[maybe_unused]] auto r = ::read(event_fd_, &count, sizeof count);
        continue;
      }
      OnEvent(events[i].data.u64, events[i].events);
    }

    std::vector<std::pair<std::uint64_t, std::unique_ptr<Connection>>> incoming;
    std::vector<std::uint64_t> woken;
    bool stop;
    {
      std::lock_guard lock(queue_mu_);
      incoming.swap(incoming_);
      woken.swap(woken_);
      stop = stop_requested_;
      signalled_ = false;
    }
    for (auto& [id, connection] : incoming) Admit(id, std::move(connection));
    Serve(woken, /*final=*/false);
    ExpireTimers();
    if (stop) {
      Shutdown();
      return;
    }
  }
}

void ParkingLot::Admit(std::uint64_t id, std::unique_ptr<Connection> connection) {
  auto owned = std::make_unique<Entry>();
  Entry& entry = *owned;
  entry.id = id;
  entry.connection = std::move(connection);
  entry.last_progress = Clock::now();
  entries_.emplace(id, std::move(owned));
  const ParkedRequest& parked = *entry.connection->parked;
  if (parked.kind == ParkedRequest::Kind::kPoll) return Hold(entry, /*add=*/true);
  entry.state = State::kStreaming;
  // A stream's client sends nothing: only its leaving is of interest.
  Watch(entry, EPOLLRDHUP, /*add=*/true);
  SetTimer(entry, Clock::now() + options_.sse.ping_interval);
  Queue(entry, std::make_shared<const std::string>(
                   "HTTP/1.1 200 OK\r\n"
                   "Content-Type: text/event-stream\r\n"
                   "Cache-Control: no-cache\r\n"
                   // nginx would otherwise buffer the stream and deliver events in lumps.
                   "X-Accel-Buffering: no\r\n"
                   "Transfer-Encoding: chunked\r\n" +
                   parked.extra_headers + "\r\n" + Chunk(SseOpening(options_.sse))));
  // Then whatever is already after its cursor (the catch-up).
  if (Flush(entry)) Serve({id}, /*final=*/false);
}

void ParkingLot::Hold(Entry& entry, bool add) {
  entry.state = State::kParked;
  // A parked client sends nothing until answered: only its leaving is of interest.
  Watch(entry, EPOLLRDHUP, add);
  SetTimer(entry, entry.connection->parked->deadline);
}

void ParkingLot::Watch(Entry& entry, std::uint32_t events, bool add) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = entry.id;
  ::epoll_ctl(epoll_fd_, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, entry.connection->fd, &ev);
  entry.watching_out = (events & EPOLLOUT) != 0;
}

void ParkingLot::SetTimer(Entry& entry, Clock::time_point deadline) {
  if (entry.has_timer) timers_.erase(entry.timer);
  entry.timer = timers_.emplace(deadline, entry.id);
  entry.has_timer = true;
}

void ParkingLot::OnEvent(std::uint64_t id, std::uint32_t events) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  Entry& entry = *it->second;
  switch (entry.state) {
    case State::kParked:
      // The client left while waiting (a parked client has nothing else to say).
      return Close(id);
    case State::kSending:
      if (events & (EPOLLERR | EPOLLHUP)) return Close(id);
      if (events & EPOLLOUT) Flush(entry);
      return;
    case State::kStreaming:
      if (events & (EPOLLERR | EPOLLHUP | EPOLLRDHUP)) return Close(id);
      if (events & EPOLLOUT) Flush(entry);
      return;
    case State::kIdle:
      // Its next request (possibly followed by a half-close).
      if (events & EPOLLIN) return OnRequest(entry);
      return Close(id);
  }
}

void ParkingLot::Serve(const std::vector<std::uint64_t>& ids, bool final) {
  // Clients woken by one publish mostly share channels and cursor: read and format once.
  std::unordered_map<std::string, Answer> answers;
  for (std::uint64_t id : ids) {
    auto it = entries_.find(id);
    if (it == entries_.end()) continue;
    Entry& entry = *it->second;
    const bool poll = entry.state == State::kParked;
    if (!poll && (entry.state != State::kStreaming || final)) continue;
    ParkedRequest& parked = *entry.connection->parked;
    auto [slot, fresh] = answers.try_emplace(AnswerKey(parked));
    Answer& answer = slot->second;
    if (fresh) {
      WaitResult result = feed_.CheckWait(parked.request);
      if (poll) {
        if (result.status == WaitStatus::kPending && !final) {
          answer.pending = true;
        } else {
          // Pending when final: a timeout (or shutdown) with nothing new.
          if (result.status == WaitStatus::kPending) result.status = WaitStatus::kTimeout;
          answer.reply = LongPollReply(result);
          answer.body = std::make_shared<const std::string>(std::move(answer.reply.body));
        }
      } else if (result.status == WaitStatus::kStoreError) {
        answer.drop = true;
      } else if (result.status != WaitStatus::kItems) {
        answer.pending = true;
      } else {
        std::string events;
        AppendSseResult(events, result, parked.request.since, parked.typed);
        answer.body = std::make_shared<const std::string>(Chunk(events));
        answer.cursor = result.cursor;
        answer.more = result.items.size() >= parked.request.limit;
      }
    }
    if (answer.pending) continue;
    if (poll) {
      AnswerPoll(entry, answer);
      continue;
    }
    if (answer.drop || entry.queued_bytes + answer.body->size() > kMaxStreamQueue) {
      // Dropped rather than allowed to grow: the browser reconnects with Last-Event-ID.
      Close(id);
      continue;
    }
    parked.request.since = answer.cursor;
    Queue(entry, answer.body);
    if (Flush(entry) && answer.more) Wake(id);
  }
}

void ParkingLot::ExpireTimers() {
  const Clock::time_point now = Clock::now();
  std::vector<std::uint64_t> due;
  while (!timers_.empty() && timers_.begin()->first <= now) {
    const std::uint64_t id = timers_.begin()->second;
    timers_.erase(timers_.begin());
    auto it = entries_.find(id);
    if (it == entries_.end()) continue;
    Entry& entry = *it->second;
    entry.has_timer = false;
    if (entry.state == State::kParked) {
      due.push_back(id);
    } else if (entry.state == State::kStreaming) {
      if (entry.queued_bytes > 0) {
        // Its client has taken nothing for the write timeout.
        if (now - entry.last_progress > options_.write_timeout) {
          Close(id);
          continue;
        }
        SetTimer(entry, now + options_.sse.ping_interval);
        continue;
      }
      // Events sent since the timer was set count as signs of life; this check, once per
      // ping interval, replaces re-arming the timer on every event of every stream.
      const Clock::time_point quiet_until = entry.last_progress + options_.sse.ping_interval;
      if (now < quiet_until) {
        SetTimer(entry, quiet_until);
        continue;
      }
      // Quiet for a ping interval: keep proxies and browsers from giving up on it.
      SetTimer(entry, now + options_.sse.ping_interval);
      Queue(entry, ping_);
      Flush(entry);
    } else {
      // An idle connection past its keep-alive, or an answer its client does not take.
      Close(id);
    }
  }
  Serve(due, /*final=*/true);
}

void ParkingLot::EndWait(Entry& entry) {
  ParkedRequest& parked = *entry.connection->parked;
  parked.waiter->SetOnWake(nullptr);
  feed_.EndWait(parked.request.channels, parked.waiter);
}

void ParkingLot::AnswerPoll(Entry& entry, Answer& answer) {
  EndWait(entry);
  const ParkedRequest& parked = *entry.connection->parked;
  entry.close_after_send = parked.close_after || answer.reply.status != 200;
  if (LogEnabled(LogLevel::kInfo)) {
    Log(LogLevel::kInfo, parked.log_prefix + " " + std::to_string(answer.reply.status) + " " +
                             std::to_string(answer.body->size()));
  }
  entry.state = State::kSending;
  // Most clients of one answer have the same head too: it is formatted once for them.
  if (parked.extra_headers.empty() && !entry.close_after_send) {
    if (!answer.shared_head) {
      answer.shared_head = std::make_shared<const std::string>(
          FormatHead(answer.reply, answer.body->size(), "", false, options_.keep_alive));
    }
    Queue(entry, answer.shared_head);
  } else {
    Queue(entry, std::make_shared<const std::string>(
                     FormatHead(answer.reply, answer.body->size(), parked.extra_headers,
                                entry.close_after_send, options_.keep_alive)));
  }
  Queue(entry, answer.body);
  Flush(entry);
}

void ParkingLot::Queue(Entry& entry, Bytes bytes) {
  entry.queued_bytes += bytes->size();
  entry.queue.push_back(std::move(bytes));
}

bool ParkingLot::Flush(Entry& entry) {
  while (!entry.queue.empty()) {
    iovec parts[16];
    int count = 0;
    for (auto it = entry.queue.begin(); it != entry.queue.end() && count < 16; ++it, ++count) {
      const std::size_t skip = count == 0 ? entry.front_sent : 0;
      parts[count] = {const_cast<char*>((*it)->data()) + skip, (*it)->size() - skip};
    }
    msghdr message{};
    message.msg_iov = parts;
    message.msg_iovlen = static_cast<std::size_t>(count);
    const ssize_t n = ::sendmsg(entry.connection->fd, &message, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      // The rest goes when the socket drains; an answer its client does not take in the
      // write timeout is given up (a stream's stall is checked at its ping).
      if (!entry.watching_out) Watch(entry, EPOLLOUT | EPOLLRDHUP, /*add=*/false);
      if (entry.state == State::kSending) SetTimer(entry, Clock::now() + options_.write_timeout);
      return true;
    }
    if (n <= 0) {
      Close(entry.id);
      return false;
    }
    auto sent = static_cast<std::size_t>(n);
    entry.queued_bytes -= sent;
    entry.sent_total += sent;
    entry.last_progress = Clock::now();
    while (sent > 0) {
      const std::size_t left = entry.queue.front()->size() - entry.front_sent;
      if (sent < left) {
        entry.front_sent += sent;
        break;
      }
      sent -= left;
      entry.queue.pop_front();
      entry.front_sent = 0;
    }
  }
  if (entry.close_after_send && entry.state == State::kStreaming) {
    Close(entry.id);
    return false;
  }
  if (entry.state == State::kSending) {
    AfterPollSent(entry);
    return false;
  }
  if (entry.watching_out) Watch(entry, EPOLLRDHUP, /*add=*/false);
  return true;
}

void ParkingLot::AfterPollSent(Entry& entry) {
  if (entry.close_after_send) return Close(entry.id);
  entry.connection->parked.reset();
  // A request that came along with the last one is already in the stream's buffer.
  if (entry.connection->stream.has_buffered_input()) return Resume(entry.id);
  entry.state = State::kIdle;
  Watch(entry, EPOLLIN | EPOLLRDHUP, /*add=*/false);
  SetTimer(entry, Clock::now() + options_.keep_alive);
}

void ParkingLot::OnRequest(Entry& entry) {
  std::string output;
  const InlineOutcome outcome = callbacks_.serve_inline
                                    ? callbacks_.serve_inline(*entry.connection, output)
                                    : InlineOutcome::kNotServed;
  switch (outcome) {
    case InlineOutcome::kNotServed:
      return Resume(entry.id);
    case InlineOutcome::kParked: {
      Hold(entry, /*add=*/false);
      const std::uint64_t id = entry.id;
      // A wake since the handler registered it runs the callback at once.
      entry.connection->parked->waiter->SetOnWake([this, id] { Wake(id); });
      return;
    }
    case InlineOutcome::kAnswered:
    case InlineOutcome::kClose:
      entry.state = State::kSending;
      entry.close_after_send = outcome == InlineOutcome::kClose;
      if (!output.empty()) Queue(entry, std::make_shared<const std::string>(std::move(output)));
      Flush(entry);
      return;
  }
}

std::unique_ptr<ParkingLot::Entry> ParkingLot::Release(std::uint64_t id) {
  auto it = entries_.find(id);
  std::unique_ptr<Entry> entry = std::move(it->second);
  entries_.erase(it);
  if (entry->has_timer) timers_.erase(entry->timer);
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, entry->connection->fd, nullptr);
  return entry;
}

void ParkingLot::Resume(std::uint64_t id) { callbacks_.resume(std::move(Release(id)->connection)); }

void ParkingLot::Close(std::uint64_t id) {
  std::unique_ptr<Entry> entry = Release(id);
  if (entry->state == State::kParked || entry->state == State::kStreaming) EndWait(*entry);
  if (entry->state == State::kStreaming && LogEnabled(LogLevel::kInfo)) {
    Log(LogLevel::kInfo,
        entry->connection->parked->log_prefix + " 200 " + std::to_string(entry->sent_total));
  }
  callbacks_.close(std::move(entry->connection));
}

void ParkingLot::Shutdown() {
  std::vector<std::uint64_t> polls;
  std::vector<std::uint64_t> streams;
  for (const auto& [id, entry] : entries_) {
    if (entry->state == State::kParked) polls.push_back(id);
    if (entry->state == State::kStreaming) streams.push_back(id);
  }
  for (auto id : polls) entries_.at(id)->connection->parked->close_after = true;
  Serve(polls, /*final=*/true);
  // A stream ends with the last chunk: the browser reconnects to the restarted server.
  for (auto id : streams) {
    Entry& entry = *entries_.at(id);
    entry.close_after_send = true;
    Queue(entry, last_chunk_);
    Flush(entry);
  }
  // Give the answers a moment to drain to clients that read slowly, then close everyone.
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(2);
  epoll_event events[512];
  for (;;) {
    const bool sending = std::any_of(entries_.begin(), entries_.end(),
                                     [](const auto& e) { return e.second->queued_bytes > 0; });
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (!sending || left <= 0) break;
    const int n = ::epoll_wait(epoll_fd_, events, 512, static_cast<int>(left));
    for (int i = 0; i < n; ++i) {
      if (events[i].data.u64 != kEventTag) OnEvent(events[i].data.u64, events[i].events);
    }
  }
  std::vector<std::uint64_t> rest;
  for (const auto& [id, entry] : entries_) rest.push_back(id);
  for (auto id : rest) Close(id);
}

}  // namespace livefeed
