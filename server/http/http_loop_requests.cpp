// How one connection's requests become answers: reading and framing requests, judging a
// head before its body, dispatching to the routes, and writing what they answer. The
// connection's life around that (accepting, timers, closing, stopping) is http_loop.cpp.
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <utility>

#include "http/access_log.h"
#include "http/http_loop.h"
#include "http/response_head.h"
#include "log.h"
#include "transport/access.h"

namespace livefeed {
namespace {

// What a stream may have in flight in the kernel for a client that stopped reading; the
// rest is not formatted until it is taken (see delivery.h).
constexpr int kStreamSendBuffer = 256 * 1024;

Bytes Share(std::string text) { return std::make_shared<const std::string>(std::move(text)); }

}  // namespace

void HttpLoop::ReadRequests(Connection& connection) {
  while (connection.phase == Connection::Phase::kRequest) {
    RequestParser& parser = connection.parser;
    switch (parser.state()) {
      case RequestParser::State::kHead:
      case RequestParser::State::kBody: {
        if (connection.input().empty()) {
          switch (connection.dry() ? Connection::Received::kAgain
                                   : connection.Receive(kReadBytes)) {
            case Connection::Received::kData:
              break;
            case Connection::Received::kAgain:
              // Waiting for more: a request begun must arrive whole in time.
              if (parser.started()) {
                const auto limit = parser.state() == RequestParser::State::kHead
                                       ? routes_.live().header_timeout
                                       : routes_.live().body_timeout;
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
      // A body left unread would be taken for the next request: the connection ends. So it
      // does when the client did not ask to keep it, as after any other answer.
      if (head.declares_body() || !head.keep_alive() || stopping_) connection.close_after = true;
      // A browser reads the refusal only with the CORS fields the request earns (taken
      // before the parser lets go of the head), and every answer carries the request's id.
      IdentifyRequest(connection, &head, routes_);
      // Done with this request: what follows on the connection is the next one.
      parser.Reset();
      Respond(connection, verdict.refusal);
      return;
    case HeadVerdict::Kind::kReadBody:
      // Named now, for the answer if the body turns out too large or too slow.
      connection.method.assign(head.method());
      connection.target.assign(head.target());
      parser.ExpectBody(routes_.live().max_body);
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
  connection.publishing = head.method() == "POST" && Classify(head.path()) == Endpoint::kPublish;
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
  Outcome outcome = routes_.Handle(head, std::move(body), connection.client, std::move(later),
                                   [this](const std::string& channel, std::uint64_t id) {
                                     return delivery_.Count(channel, id);
                                   });
  Apply(connection, std::move(outcome));
  // A held poll or a stream reads no request for a while: it keeps no buffers for one.
  if (connection.phase != Connection::Phase::kSubscribed) parser.Recycle(std::move(head));
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
      // Only its leaving matters until the answer comes. Its interest in input stays as it
      // is (a client waiting for its answer rarely sends more) and is dropped only if input
      // comes (OnEvents): two epoll_ctl calls fewer for each answer from a store or worker.
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
  // The head and the body in the connection's reused buffer: one copy, one part to send.
  std::string& bytes = connection.ReplyBuffer();
  bytes.reserve(256 + connection.extra_lines.size() + reply.body.size());
  AppendResponseHead(bytes, HeadOf(connection, reply, reply.body.size()));
  if (!connection.head_only) bytes += reply.body;
  const std::size_t size = bytes.size();
  connection.QueueReplyBuffer();
  Finish(connection, reply.status, size);
}

void HttpLoop::Respond(Connection& connection, const Reply& reply, const Bytes& body) {
  std::string head = FormatResponseHead(HeadOf(connection, reply, body->size()));
  const std::size_t bytes = head.size() + (connection.head_only ? 0 : body->size());
  connection.Queue(std::move(head));
  // A HEAD is answered with the head a GET would have, and no body.
  if (!connection.head_only) connection.Queue(body);
  Finish(connection, reply.status, bytes);
}

ResponseHead HttpLoop::HeadOf(const Connection& connection, const Reply& reply,
                              std::size_t body_size) const {
  // A HEAD of a feed endpoint is answered without the length a GET's body would have:
  // it is not known without holding the request.
  const bool length_unknown = connection.head_only && body_size == 0 && reply.status == 200;
  return {.status = reply.status,
          .content_type = reply.content_type,
          .fields = &reply.headers,
          .extra_lines = connection.extra_lines,
          .body = length_unknown ? ResponseHead::Body::kNone : ResponseHead::Body::kLength,
          .content_length = body_size,
          .close = connection.close_after,
          .keep_alive = context_.options.keep_alive_timeout};
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
  Arm(connection, loop_.now() + routes_.live().write_timeout);
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
        Arm(connection, loop_.now() + routes_.live().write_timeout);
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
  if (connection.publishing) {
    auto it = std::find_if(publishers_.begin(), publishers_.end(),
                           [&](const EagerPublisher& p) { return p.id == connection.id; });
    if (it != publishers_.end()) {
      it->misses = 0;
    } else if (publishers_.size() < kEagerPublishers) {
      publishers_.push_back({connection.id});
    }
  }
  connection.phase = Connection::Phase::kRequest;
  connection.request_start = Clock::time_point();
  // Until the next request's head is judged, nothing it has earned (a refusal of a
  // malformed or slow request carries no CORS fields).
  connection.extra_lines.clear();
  Watch(connection, EPOLLIN | EPOLLRDHUP);
  Arm(connection, loop_.now() + context_.options.keep_alive_timeout);
}

void HttpLoop::LogAccess(Connection& connection, int status, std::size_t bytes) {
  connection.status = status;
  ++connection.answered;
  RecordAnswer(context_.metrics, connection, status, bytes, Clock::now());
}

// A publisher waits for each answer before it sends its next publish, which then arrives
// behind every event of the round: with 1,000 polls answered and re-polling, one publish per
// round, and every answer carries one item. Reading the recent publishers between a round's
// events gives them turns throughout it, so the round's answers carry what was published
// meanwhile (a speculative recv each, for at most kEagerPublishers connections).
void HttpLoop::ReadPublishers() {
  for (std::size_t i = 0; i < publishers_.size();) {
    Connection* connection = Find(publishers_[i].id);
    const bool idle = connection && connection->phase == Connection::Phase::kRequest &&
                      !connection->parser.started() && connection->input().empty();
    if (idle) {
      connection->MayHaveInput();
      ReadRequests(*connection);
    }
    // Whatever it became (answered, handled elsewhere, closed), a read that began nothing
    // is a miss; AfterAnswer resets them when a publish is answered.
    connection = Find(publishers_[i].id);
    const bool gone = !connection || connection->phase == Connection::Phase::kClosed ||
                      connection->phase == Connection::Phase::kLingering;
    if (gone || (idle && connection->phase == Connection::Phase::kRequest &&
                 !connection->parser.started() && ++publishers_[i].misses > kEagerMisses)) {
      publishers_[i] = publishers_.back();
      publishers_.pop_back();
      continue;
    }
    ++i;
  }
}

}  // namespace livefeed
