#include "http/http_loop.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "http/access_log.h"
#include "log.h"

namespace livefeed {
namespace {

constexpr std::uint64_t kListenToken = 0;
constexpr std::uint64_t kStopToken = 1;
constexpr std::uint64_t kFirstConnection = 2;

// How long a closing connection keeps reading what its client still sends, and how much,
// so that the answer is not destroyed by a reset.
constexpr auto kLinger = std::chrono::seconds(2);
constexpr std::size_t kLingerBytes = 1 << 20;
// Refused connections lingering at once; past that they are closed outright.
constexpr std::size_t kMaxRefusing = 64;

std::string PeerAddress(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return "?";
  char text[INET6_ADDRSTRLEN] = "?";
  if (addr.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in&>(addr).sin_addr, text, sizeof text);
  } else if (addr.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6&>(addr).sin6_addr, text, sizeof text);
  }
  return text;
}

}  // namespace

HttpLoop::HttpLoop(ServerContext& context, int listen_fd)
    : context_(context),
      listen_fd_(listen_fd),
      routes_(context),
      delivery_(*this, context.feed.store(), context.metrics),
      next_id_(kFirstConnection) {
  error_ = loop_.error();
  // Every loop takes connections from the one listening socket; EPOLLEXCLUSIVE wakes one
  // loop per connection rather than all of them.
  if (error_.empty() && !loop_.Watch(listen_fd_, EPOLLIN | EPOLLEXCLUSIVE, kListenToken)) {
    error_ = std::string("cannot watch the listening socket: ") + std::strerror(errno);
  }
}

HttpLoop::~HttpLoop() = default;

void HttpLoop::Run() {
  thread_ = std::this_thread::get_id();
  const EventLoop::Callbacks callbacks{
      .on_ready = [this](std::uint64_t token, std::uint32_t events) { OnReady(token, events); },
      .on_timer = [this](std::uint64_t token) { OnTimer(token); },
      .after_round = [this] { AfterRound(); },
      .between_events = [this] { ReadPublishers(); },
      .busy = [this] { return delivery_.busy() || !resume_.empty(); }};
  loop_.Run(callbacks);
  // Whatever is left when the loop ends (only after the stop's grace period) is closed.
  std::vector<Connection*> rest;
  for (auto& [id, connection] : connections_) rest.push_back(connection.get());
  for (Connection* connection : rest) CloseConnection(*connection);
  connections_.clear();
  closed_.clear();
  context_.metrics.bytes_sent.Add(std::exchange(bytes_unreported_, 0));
}

void HttpLoop::Stop() {
  loop_.Post([this] { BeginStop(); });
}

void HttpLoop::Notify(const std::string& channel, std::uint64_t newest) {
  // When the news came: where the delivery latency starts.
  const Clock::time_point at = Clock::now();
  if (std::this_thread::get_id() == thread_.load()) {
    delivery_.OnNews(channel, newest, at);
    return;
  }
  std::lock_guard lock(news_mu_);
  auto [it, fresh] = news_.try_emplace(channel, News{newest, at});
  if (!fresh) it->second.newest = std::max(it->second.newest, newest);
  if (news_posted_) return;
  // One post per round, however many channels have news meanwhile.
  news_posted_ = true;
  loop_.Post([this] {
    std::unordered_map<std::string, News> news;
    {
      std::lock_guard lock(news_mu_);
      news.swap(news_);
      news_posted_ = false;
    }
    for (const auto& [channel, what] : news) delivery_.OnNews(channel, what.newest, what.at);
  });
}

void HttpLoop::OnReady(std::uint64_t token, std::uint32_t events) {
  // A reload's settings are in force for whatever a client sends after it (one atomic
  // load when nothing changed).
  routes_.Refresh();
  if (token == kListenToken) return Accept();
  if (Connection* connection = Find(token)) OnEvents(*connection, events);
}

Connection* HttpLoop::Find(std::uint64_t id) {
  auto it = connections_.find(id);
  return it == connections_.end() ? nullptr : it->second.get();
}

void HttpLoop::Accept() {
  // A bounded batch per round, so that a flood of connects does not starve the others.
  for (int i = 0; i < 64 && !stopping_; ++i) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      // EAGAIN: none left. EMFILE and the like: the cap keeps us below the open-file limit,
      // so this is transient; the connection waits in the backlog.
      return;
    }
    if (context_.open.load() >= routes_.live().max_connections) {
      Refuse(fd);
      continue;
    }
    ++context_.open;
    const int yes = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
    const std::uint64_t id = next_id_++;
    auto owned = std::make_unique<Connection>(fd, id, PeerAddress(fd));
    Connection& connection = *owned;
    connections_.emplace(id, std::move(owned));
    connection.last_progress = loop_.now();
    Watch(connection, EPOLLIN | EPOLLRDHUP);
    // A fresh connection gets only the header timeout to start its request: connections
    // opened and left silent (a flood) must not hold slots for the keep-alive time.
    Arm(connection, loop_.now() + routes_.live().header_timeout);
  }
}

void HttpLoop::Refuse(int fd) {
  ++context_.refused;
  context_.metrics.connections_refused[metrics::RefusalReason::kCap].Increment();
  if (LogEnabled(LogLevel::kDebug))
    Log(LogLevel::kDebug, "refused a connection: at the connection cap");
  if (refusing_ >= kMaxRefusing) {
    ::close(fd);
    return;
  }
  // Answered 503 at once, without reading the request, so the client retries later
  // instead of hanging in a queue; then closed like any last answer.
  ++refusing_;
  const std::uint64_t id = next_id_++;
  auto owned = std::make_unique<Connection>(fd, id, PeerAddress(fd));
  Connection& connection = *owned;
  connections_.emplace(id, std::move(owned));
  connection.refused = true;
  connection.close_after = true;
  connection.request_start = loop_.now();
  Reply busy = JsonError(503, "too many connections, retry in a second");
  busy.headers.emplace_back("Retry-After", "1");
  IdentifyRequest(connection, nullptr, routes_);
  Respond(connection, busy);
}

void HttpLoop::Watch(Connection& connection, std::uint32_t events) {
  if (connection.watching == events) return;
  const bool ok = connection.watching == 0 ? loop_.Watch(connection.fd, events, connection.id)
                                           : loop_.Rewatch(connection.fd, events, connection.id);
  connection.watching = events;
  if (!ok) {
    Log(LogLevel::kError, std::string("epoll refused a connection: ") + std::strerror(errno));
  }
}

void HttpLoop::Arm(Connection& connection, Clock::time_point at) {
  loop_.SetTimer(connection.id, at);
}

void HttpLoop::OnEvents(Connection& connection, std::uint32_t events) {
  if (connection.phase == Connection::Phase::kClosed) return;  // Closed earlier this round.
  if (events & EPOLLERR) return CloseConnection(connection);
  const bool was_dry = connection.dry();
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) connection.MayHaveInput();
  switch (connection.phase) {
    case Connection::Phase::kRequest:
      return ReadRequests(connection);
    case Connection::Phase::kHandling:
      // The client left while its request was being handled; the answer goes nowhere.
      if (events & (EPOLLRDHUP | EPOLLHUP)) return CloseConnection(connection);
      // A pipelined request is read once this one is answered (AfterAnswer watches input
      // again); until then its bytes must not wake the loop in every round. But a socket
      // its last read left empty is most likely reporting that read's input (a publisher
      // read between this round's events): if more did come, the next round says so again.
      if ((events & EPOLLIN) && !was_dry) Watch(connection, EPOLLRDHUP);
      return;
    case Connection::Phase::kSubscribed:
      // A subscriber sends nothing until answered: what it can say is that it left.
      if (events & (EPOLLRDHUP | EPOLLHUP)) return CloseConnection(connection);
      if (events & EPOLLOUT) WriteOut(connection);
      return;
    case Connection::Phase::kResponding:
      if (events & EPOLLHUP) return CloseConnection(connection);
      if (events & EPOLLOUT) WriteOut(connection);
      return;
    case Connection::Phase::kLingering:
      return Drain(connection);
    case Connection::Phase::kClosed:
      return;
  }
}

void HttpLoop::Linger(Connection& connection) {
  // Closing with unread input would send a reset, which may destroy the answer before
  // the client reads it: half-close, then read until the client closes (or a bound).
  ::shutdown(connection.fd, SHUT_WR);
  connection.phase = Connection::Phase::kLingering;
  connection.bytes_sent = 0;
  Watch(connection, EPOLLIN | EPOLLRDHUP);
  Arm(connection, loop_.now() + kLinger);
  Drain(connection);
}

void HttpLoop::Drain(Connection& connection) {
  for (;;) {
    switch (connection.Receive(kReadBytes)) {
      case Connection::Received::kData:
        connection.drained += connection.input().size();
        connection.Consume(connection.input().size());
        if (connection.drained > kLingerBytes) return CloseConnection(connection);
        continue;
      case Connection::Received::kAgain:
        return;
      case Connection::Received::kClosed:
        return CloseConnection(connection);
    }
  }
}

void HttpLoop::CloseConnection(Connection& connection) {
  if (connection.phase == Connection::Phase::kClosed) return;
  if (connection.subscribed) delivery_.Remove(connection);
  Unsubscribe(connection);
  loop_.Unwatch(connection.fd);
  loop_.CancelTimer(connection.id);
  if (connection.refused) {
    --refusing_;
  } else {
    --context_.open;
  }
  connection.CloseSocket();
  connection.phase = Connection::Phase::kClosed;
  // Freed at the end of the round: callers up the stack may still hold it.
  closed_.push_back(connection.id);
}

void HttpLoop::OnTimer(std::uint64_t token) {
  if (token == kStopToken) return loop_.Stop();
  Connection* found = Find(token);
  if (!found) return;
  Connection& connection = *found;
  switch (connection.phase) {
    case Connection::Phase::kRequest: {
      const bool head = connection.parser.state() == RequestParser::State::kHead;
      // A connection that never sent a head in time (silent, or a head trickled in: a
      // slowloris) is refused; one idle after its answers just ends.
      if (head && (connection.answered == 0 || connection.parser.started())) {
        context_.metrics.connections_refused[metrics::RefusalReason::kHeaderTimeout].Increment();
      }
      if (!connection.parser.started()) return CloseConnection(connection);
      connection.close_after = true;
      IdentifyRequest(connection, nullptr, routes_);
      return Respond(connection, JsonError(408, head ? "the request head did not arrive in time"
                                                     : "the request body did not arrive in time"));
    }
    case Connection::Phase::kSubscribed:
      if (connection.subscribed) return delivery_.OnTimer(connection);
      return CloseConnection(connection);
    case Connection::Phase::kHandling:
      return;
    case Connection::Phase::kResponding:  // Its client took nothing for the write timeout.
    case Connection::Phase::kLingering:
      return CloseConnection(connection);
    case Connection::Phase::kClosed:
      return;
  }
}

void HttpLoop::AfterRound() {
  delivery_.AfterRound();
  if (bytes_unreported_ != 0) {
    context_.metrics.bytes_sent.Add(std::exchange(bytes_unreported_, 0));
  }
  std::vector<std::uint64_t> resume;
  resume.swap(resume_);
  for (std::uint64_t id : resume) {
    Connection* connection = Find(id);
    if (connection && connection->phase == Connection::Phase::kRequest) ReadRequests(*connection);
  }
  for (std::uint64_t id : closed_) connections_.erase(id);
  closed_.clear();
  // Stopped once every answer is written: what is left only lingers for its client.
  if (stopping_ && std::all_of(connections_.begin(), connections_.end(), [](const auto& entry) {
        return entry.second->phase == Connection::Phase::kLingering;
      })) {
    loop_.Stop();
  }
}

void HttpLoop::BeginStop() {
  if (stopping_) return;
  stopping_ = true;
  loop_.Unwatch(listen_fd_);
  delivery_.Shutdown();
  // Idle connections go now; the others get their answers first, for a while.
  std::vector<Connection*> idle;
  for (auto& [id, connection] : connections_) {
    connection->close_after = true;
    if (connection->phase == Connection::Phase::kRequest && !connection->parser.started()) {
      idle.push_back(connection.get());
    }
  }
  for (Connection* connection : idle) CloseConnection(*connection);
  stop_deadline_ = loop_.now() + kLinger;
  loop_.SetTimer(kStopToken, stop_deadline_);
}

}  // namespace livefeed
