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
#include "http/response_head.h"
#include "log.h"
#include "transport/access.h"

namespace livefeed {
namespace {

constexpr std::uint64_t kListenToken = 0;
constexpr std::uint64_t kStopToken = 1;
constexpr std::uint64_t kFirstConnection = 2;

constexpr std::size_t kReadBytes = 16 * 1024;
// How long a closing connection keeps reading what its client still sends, and how much,
// so that the answer is not destroyed by a reset.
constexpr auto kLinger = std::chrono::seconds(2);
constexpr std::size_t kLingerBytes = 1 << 20;
// Refused connections lingering at once; past that they are closed outright.
constexpr std::size_t kMaxRefusing = 64;
// What a stream may have in flight in the kernel for a client that stopped reading; the
// rest is not formatted until it is taken (see delivery.h).
constexpr int kStreamSendBuffer = 256 * 1024;

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

Bytes Share(std::string text) { return std::make_shared<const std::string>(std::move(text)); }

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
    if (context_.open.load() >= context_.options.max_connections) {
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
    Arm(connection, loop_.now() + context_.options.header_timeout);
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
  switch (connection.phase) {
    case Connection::Phase::kRequest:
      return ReadRequests(connection);
    case Connection::Phase::kHandling:
      // The client left while its request was being handled; the answer goes nowhere.
      if (events & (EPOLLRDHUP | EPOLLHUP)) CloseConnection(connection);
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

void HttpLoop::ReadRequests(Connection& connection) {
  while (connection.phase == Connection::Phase::kRequest) {
    RequestParser& parser = connection.parser;
    switch (parser.state()) {
      case RequestParser::State::kHead:
      case RequestParser::State::kBody: {
        if (connection.input().empty()) {
          switch (connection.Receive(kReadBytes)) {
            case Connection::Received::kData:
              break;
            case Connection::Received::kAgain:
              // Waiting for more: a request begun must arrive whole in time.
              if (parser.started()) {
                const auto limit = parser.state() == RequestParser::State::kHead
                                       ? context_.options.header_timeout
                                       : context_.options.body_timeout;
                Arm(connection, connection.request_start + limit);
              }
              return;
            case Connection::Received::kClosed:
              return CloseConnection(connection);
          }
        }
        const bool was_started = parser.started();
        connection.Consume(parser.Feed(connection.input()));
        if (!was_started && parser.started()) {
          connection.request_start = loop_.now();
          // Not known until its head is read.
          connection.method.clear();
          connection.target.clear();
        }
        break;
      }
      case RequestParser::State::kError:
        connection.close_after = true;
        IdentifyRequest(connection, nullptr, routes_);
        Respond(connection, JsonError(parser.error_status(), parser.error_message()));
        return;
      case RequestParser::State::kReady:
        OnHead(connection);
        break;
      case RequestParser::State::kDone:
        Dispatch(connection);
        break;
    }
  }
}

void HttpLoop::OnHead(Connection& connection) {
  RequestParser& parser = connection.parser;
  const RequestHead& head = parser.head();
  const HeadVerdict verdict = routes_.OnHead(head);
  switch (verdict.kind) {
    case HeadVerdict::Kind::kRefuse:
      // A body left unread would be taken for the next request: the connection ends.
      if (head.declares_body()) connection.close_after = true;
      // A browser reads the refusal only with the CORS fields the request earns (taken
      // before the parser lets go of the head), and every answer carries the request's id.
      IdentifyRequest(connection, &head, routes_);
      // Done with this request: what follows on the connection is the next one.
      parser.Reset();
      Respond(connection, verdict.refusal);
      return;
    case HeadVerdict::Kind::kReadBody:
      // Named now, for the answer if the body turns out too large or too slow.
      connection.method = std::string(head.method());
      connection.target = std::string(head.target());
      parser.ExpectBody(context_.options.max_body);
      if (parser.state() == RequestParser::State::kBody && head.expects_continue()) {
        connection.Queue(Share("HTTP/1.1 100 Continue\r\n\r\n"));
        if (Flush(connection) == Connection::Flushed::kFailed) {
          CloseConnection(connection);
        }
      }
      return;
    case HeadVerdict::Kind::kComplete:
      parser.ExpectBody(0);
      return;
  }
}

void HttpLoop::Dispatch(Connection& connection) {
  RequestParser& parser = connection.parser;
  RequestHead head = parser.TakeHead();
  std::string body = parser.TakeBody();
  parser.Reset();
  IdentifyRequest(connection, &head, routes_);
  connection.head_only = head.method() == "HEAD";
  connection.http10 = head.minor_version() == 0;
  if (!head.keep_alive() || stopping_) connection.close_after = true;
  if (connection.request_start == Clock::time_point()) connection.request_start = loop_.now();
  connection.phase = Connection::Phase::kHandling;

  // The answer of work finished elsewhere comes back to this loop, to this connection if
  // it is still there.
  Routes::Later later = [this, id = connection.id](Outcome outcome) {
    loop_.Post([this, id, outcome = std::move(outcome)]() mutable {
      Connection* connection = Find(id);
      if (connection && connection->phase == Connection::Phase::kHandling) {
        Apply(*connection, std::move(outcome));
        if (!connection->input().empty()) resume_.push_back(id);
      }
    });
  };
  Outcome outcome =
      routes_.Handle(head, std::move(body), connection.client, std::move(later),
                     [this](const std::string& channel) { return delivery_.Count(channel); });
  Apply(connection, std::move(outcome));
}

void HttpLoop::Apply(Connection& connection, Outcome outcome) {
  switch (outcome.kind) {
    case Outcome::Kind::kReply:
      return Respond(connection, outcome.reply);
    case Outcome::Kind::kRaw: {
      const int status = std::atoi(outcome.raw.c_str() + 9);  // "HTTP/1.1 200 ..."
      // The head cpp-httplib wrote gets this request's own lines (its id) too.
      if (const std::size_t line_end = outcome.raw.find("\r\n"); line_end != std::string::npos) {
        outcome.raw.insert(line_end + 2, connection.extra_lines);
      }
      const std::size_t bytes = outcome.raw.size();
      connection.Queue(Share(std::move(outcome.raw)));
      return Finish(connection, status, bytes);
    }
    case Outcome::Kind::kPoll:
      // Not held while stopping: answered at once with what there is.
      Watch(connection, EPOLLRDHUP);
      ++context_.waiting;
      connection.subscribed = true;
      delivery_.AddPoll(connection, std::move(*outcome.poll));
      if (stopping_) delivery_.OnTimer(connection);
      return;
    case Outcome::Kind::kStream:
      return StartStream(connection, std::move(*outcome.stream));
    case Outcome::Kind::kLater:
      // Only its leaving matters until the answer comes.
      Watch(connection, EPOLLRDHUP);
      loop_.CancelTimer(connection.id);
      return;
    case Outcome::Kind::kResume:
      return Apply(connection, outcome.resume());
  }
}

void HttpLoop::StartStream(Connection& connection, SseSession session) {
  if (stopping_) {
    Reply stopping = JsonError(503, "the server is stopping, reconnect in a moment");
    stopping.headers.emplace_back("Retry-After", "1");
    return Respond(connection, stopping);
  }
  // The kernel's share of what a stream may have in flight; see kStreamSendBuffer.
  ::setsockopt(connection.fd, SOL_SOCKET, SO_SNDBUF, &kStreamSendBuffer, sizeof kStreamSendBuffer);
  static const std::vector<std::pair<std::string, std::string>> kFields = {
      {"Cache-Control", "no-cache"},
      // nginx would otherwise buffer the stream and deliver events in lumps.
      {"X-Accel-Buffering", "no"}};
  // HTTP/1.0 has no chunked coding: the body then simply ends with the connection.
  const bool chunked = !connection.http10;
  if (!chunked) connection.close_after = true;
  std::string opening = session.Opening();
  std::string bytes = FormatResponseHead(
      {.status = 200,
       .content_type = "text/event-stream",
       .fields = &kFields,
       .extra_lines = connection.extra_lines,
       .body = chunked ? ResponseHead::Body::kChunked : ResponseHead::Body::kNone,
       .close = connection.close_after,
       .keep_alive = context_.options.keep_alive_timeout});
  if (chunked) {
    char size[24];
    std::snprintf(size, sizeof size, "%zx\r\n", opening.size());
    bytes += size;
    bytes += opening;
    bytes += "\r\n";
  } else {
    bytes += opening;
  }
  connection.status = 200;
  connection.bytes_sent = 0;
  connection.subscribed = true;
  connection.streaming = true;
  ++context_.waiting;
  ++context_.streams;
  connection.Queue(Share(std::move(bytes)));
  Watch(connection, EPOLLRDHUP);
  delivery_.AddStream(connection, std::move(session), chunked);
  WriteOut(connection);
}

void HttpLoop::Respond(Connection& connection, const Reply& reply) {
  Respond(connection, reply, Share(reply.body));
}

void HttpLoop::Respond(Connection& connection, const Reply& reply, const Bytes& body) {
  // A HEAD of a feed endpoint is answered without the length a GET's body would have:
  // it is not known without holding the request.
  const bool length_unknown = connection.head_only && body->empty() && reply.status == 200;
  const std::string head = FormatResponseHead(
      {.status = reply.status,
       .content_type = reply.content_type,
       .fields = &reply.headers,
       .extra_lines = connection.extra_lines,
       .body = length_unknown ? ResponseHead::Body::kNone : ResponseHead::Body::kLength,
       .content_length = body->size(),
       .close = connection.close_after,
       .keep_alive = context_.options.keep_alive_timeout});
  const std::size_t bytes = head.size() + (connection.head_only ? 0 : body->size());
  connection.Queue(Share(head));
  // A HEAD is answered with the head a GET would have, and no body.
  if (!connection.head_only) connection.Queue(body);
  Finish(connection, reply.status, bytes);
}

void HttpLoop::Finish(Connection& connection, int status, std::size_t bytes) {
  connection.phase = Connection::Phase::kResponding;
  LogAccess(connection, status, bytes);
  WriteOut(connection);
}

void HttpLoop::Unsubscribe(Connection& connection) {
  if (!connection.subscribed) return;
  connection.subscribed = false;
  --context_.waiting;
  if (connection.streaming) --context_.streams;
  // A stream is logged when it ends, with all it sent.
  if (connection.streaming) LogAccess(connection, 200, connection.sent_total);
}

void HttpLoop::End(Connection& connection, const Bytes& last) {
  Unsubscribe(connection);
  connection.close_after = true;
  // A client that takes nothing more is not waited for beyond the write timeout (armed
  // first: the send may close the connection, which cancels it).
  Arm(connection, loop_.now() + context_.options.write_timeout);
  Send(connection, last);
}

void HttpLoop::Answer(Connection& connection, const Reply& reply, const Bytes& body) {
  Unsubscribe(connection);
  Respond(connection, reply, body);
  // Its next request may already be here.
  if (connection.phase == Connection::Phase::kRequest && !connection.input().empty()) {
    resume_.push_back(connection.id);
  }
}

void HttpLoop::Send(Connection& connection, const Bytes& bytes) {
  connection.Queue(bytes);
  WriteOut(connection);
}

Connection::Flushed HttpLoop::Flush(Connection& connection) {
  const std::uint64_t before = connection.sent_total;
  const Connection::Flushed flushed = connection.Flush(loop_.now());
  bytes_unreported_ += connection.sent_total - before;
  return flushed;
}

void HttpLoop::WriteOut(Connection& connection) {
  switch (Flush(connection)) {
    case Connection::Flushed::kFailed:
      return CloseConnection(connection);
    case Connection::Flushed::kPartial:
      // An answer its client does not take is given up; a stream's stall is the
      // delivery's to judge at its periodic check. A client that half-closes may still be
      // reading its answer: only a subscriber's half-close means it left.
      if (connection.phase == Connection::Phase::kResponding) {
        Watch(connection, EPOLLOUT);
        Arm(connection, loop_.now() + context_.options.write_timeout);
      } else {
        Watch(connection, EPOLLOUT | EPOLLRDHUP);
      }
      return;
    case Connection::Flushed::kAll:
      break;
  }
  if (connection.phase == Connection::Phase::kResponding) return AfterAnswer(connection);
  if (connection.phase != Connection::Phase::kSubscribed) return;
  if (connection.close_after && !connection.subscribed) return Linger(connection);
  Watch(connection, EPOLLRDHUP);
  delivery_.OnDrained(connection);
}

void HttpLoop::AfterAnswer(Connection& connection) {
  if (connection.close_after) return Linger(connection);
  connection.phase = Connection::Phase::kRequest;
  connection.request_start = Clock::time_point();
  // Until the next request's head is judged, nothing it has earned (a refusal of a
  // malformed or slow request carries no CORS fields).
  connection.extra_lines.clear();
  Watch(connection, EPOLLIN | EPOLLRDHUP);
  Arm(connection, loop_.now() + context_.options.keep_alive_timeout);
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

void HttpLoop::LogAccess(Connection& connection, int status, std::size_t bytes) {
  connection.status = status;
  ++connection.answered;
  RecordAnswer(context_.metrics, connection, status, bytes, Clock::now());
}

}  // namespace livefeed
