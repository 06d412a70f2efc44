#include "http/parking_lot.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "log.h"
#include "transport/long_poll.h"

namespace livefeed {

struct ParkingLot::Entry {
  std::uint64_t id = 0;
  std::unique_ptr<Connection> connection;
  State state = State::kParked;
  std::multimap<Clock::time_point, std::uint64_t>::iterator timer;
  bool has_timer = false;
  // What is being sent: a head of this client's own and a body shared with every client
  // that got the same answer.
  std::string head;
  std::shared_ptr<const std::string> body;
  std::size_t sent = 0;
  bool close_after_send = false;
};

// One formatted answer, shared by the woken clients with the same channels and cursor.
struct ParkingLot::Answer {
  bool pending = false;  // Nothing to say yet: the polls stay parked.
  Reply reply;           // Status and headers; the body is in `body`.
  std::shared_ptr<const std::string> body;
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

std::string AnswerKey(const WaitRequest& request) {
  std::string key = std::to_string(request.since);
  for (const auto& channel : request.channels) {
    key += '|';
    key += channel;
  }
  return key;
}

}  // namespace

ParkingLot::ParkingLot(Feed& feed, std::chrono::seconds keep_alive,
                       std::chrono::seconds write_timeout, Callbacks callbacks)
    : feed_(feed),
      keep_alive_(keep_alive),
      write_timeout_(write_timeout),
      callbacks_(std::move(callbacks)),
      epoll_fd_(::epoll_create1(EPOLL_CLOEXEC)),
      event_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
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
  // REQUIRES: queue_mu_ held. One eventfd write per batch: wakes that pile up while the
  // lot is busy cost a vector push each, not a system call each.
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
    AnswerParked(woken, /*final=*/false);
    ExpireTimers();
    if (stop) {
      Shutdown();
      return;
    }
  }
}

void ParkingLot::Admit(std::uint64_t id, std::unique_ptr<Connection> connection) {
  auto entry = std::make_unique<Entry>();
  entry->id = id;
  const Clock::time_point deadline = connection->parked->deadline;
  entry->connection = std::move(connection);
  Entry& e = *entry;
  entries_.emplace(id, std::move(entry));
  // A parked client sends nothing until answered: only its leaving is of interest.
  Watch(e, EPOLLRDHUP, /*add=*/true);
  SetTimer(e, deadline);
}

void ParkingLot::Watch(Entry& entry, std::uint32_t events, bool add) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = entry.id;
  ::epoll_ctl(epoll_fd_, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, entry.connection->fd, &ev);
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
      if (events & EPOLLOUT) ContinueSending(entry);
      return;
    case State::kIdle:
      // Its next request (possibly followed by a half-close) goes to a thread.
      if (events & EPOLLIN) return Resume(id);
      return Close(id);
  }
}

void ParkingLot::AnswerParked(const std::vector<std::uint64_t>& ids, bool final) {
  // Clients woken by one publish mostly share channels and cursor: read and format once.
  std::unordered_map<std::string, Answer> answers;
  for (std::uint64_t id : ids) {
    auto it = entries_.find(id);
    if (it == entries_.end() || it->second->state != State::kParked) continue;
    Entry& entry = *it->second;
    const ParkedPoll& poll = *entry.connection->parked;
    auto [slot, fresh] = answers.try_emplace(AnswerKey(poll.request));
    Answer& answer = slot->second;
    if (fresh) {
      WaitResult result = feed_.CheckWait(poll.request);
      if (result.status == WaitStatus::kPending && !final) {
        answer.pending = true;
      } else {
        // kPending when final: a timeout or shutdown with nothing new.
        if (result.status == WaitStatus::kPending) result.status = WaitStatus::kTimeout;
        answer.reply = LongPollReply(result);
        answer.body = std::make_shared<const std::string>(std::move(answer.reply.body));
      }
    }
    if (!answer.pending) StartSending(entry, answer);
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
    it->second->has_timer = false;
    if (it->second->state == State::kParked) {
      due.push_back(id);
    } else {
      // An idle connection past its keep-alive, or a send that made no progress.
      Close(id);
    }
  }
  AnswerParked(due, /*final=*/true);
}

void ParkingLot::EndWait(Entry& entry) {
  ParkedPoll& poll = *entry.connection->parked;
  poll.waiter->SetOnWake(nullptr);
  feed_.EndWait(poll.request.channels, poll.waiter);
}

void ParkingLot::StartSending(Entry& entry, const Answer& answer) {
  EndWait(entry);
  const ParkedPoll& poll = *entry.connection->parked;
  entry.close_after_send = poll.close_after || answer.reply.status != 200;
  entry.head = FormatHead(answer.reply, answer.body->size(), poll.extra_headers,
                          entry.close_after_send, keep_alive_);
  entry.body = answer.body;
  entry.sent = 0;
  if (LogEnabled(LogLevel::kInfo)) {
    Log(LogLevel::kInfo, poll.log_prefix + " " + std::to_string(answer.reply.status) + " " +
                             std::to_string(entry.body->size()));
  }
  entry.state = State::kSending;
  ContinueSending(entry);
}

void ParkingLot::ContinueSending(Entry& entry) {
  const std::size_t total = entry.head.size() + entry.body->size();
  while (entry.sent < total) {
    iovec parts[2];
    int count = 0;
    if (entry.sent < entry.head.size()) {
      parts[count++] = {entry.head.data() + entry.sent, entry.head.size() - entry.sent};
      parts[count++] = {const_cast<char*>(entry.body->data()), entry.body->size()};
    } else {
      const std::size_t offset = entry.sent - entry.head.size();
      parts[count++] = {const_cast<char*>(entry.body->data()) + offset,
                        entry.body->size() - offset};
    }
    msghdr message{};
    message.msg_iov = parts;
    message.msg_iovlen = count;
    const ssize_t n = ::sendmsg(entry.connection->fd, &message, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      entry.sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      // The rest goes when the socket drains; a client that never reads is dropped.
      Watch(entry, EPOLLOUT | EPOLLRDHUP, /*add=*/false);
      if (!entry.has_timer) SetTimer(entry, Clock::now() + write_timeout_);
      return;
    }
    return Close(entry.id);
  }
  AfterSent(entry);
}

void ParkingLot::AfterSent(Entry& entry) {
  entry.head.clear();
  entry.body.reset();
  if (entry.close_after_send) return Close(entry.id);
  entry.connection->parked.reset();
  // A request that came along with the last one is already in the stream's buffer.
  if (entry.connection->stream.has_buffered_input()) return Resume(entry.id);
  entry.state = State::kIdle;
  Watch(entry, EPOLLIN | EPOLLRDHUP, /*add=*/false);
  SetTimer(entry, Clock::now() + keep_alive_);
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
  if (entry->state == State::kParked) EndWait(*entry);
  callbacks_.close(std::move(entry->connection));
}

void ParkingLot::Shutdown() {
  std::vector<std::uint64_t> parked;
  for (const auto& [id, entry] : entries_) {
    if (entry->state == State::kParked) parked.push_back(id);
  }
  for (auto id : parked) entries_.at(id)->connection->parked->close_after = true;
  AnswerParked(parked, /*final=*/true);
  // Give the answers a moment to drain to clients that read slowly, then close everyone.
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(2);
  epoll_event events[512];
  for (;;) {
    const bool sending = std::any_of(entries_.begin(), entries_.end(), [](const auto& e) {
      return e.second->state == State::kSending;
    });
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
