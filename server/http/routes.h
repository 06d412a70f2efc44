// What each request gets. The feed endpoints are matched exactly as sent (no
// percent-decoding, no extra or trailing slashes: "//send_feed_item" is not ours), and
// everything else is a static file or 404.
//   1. OnHead: once a request's head is in, before a byte of its body is read: refuse it
//      (wrong method, missing credentials, a body where none is taken, a body we will not
//      read), read its body, or take it as complete.
//   2. Handle: the whole request becomes an answer, a subscriber for the delivery (a poll
//      or a stream), or work that answers later (a store or worker that completes on
//      another thread).
// Safe for concurrent use (it holds only the shared, immutable context).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "http/request_parser.h"
#include "http/server_context.h"
#include "transport/long_poll.h"
#include "transport/reply.h"
#include "transport/sse_stream.h"

namespace livefeed {

enum class Endpoint { kPublish, kPoll, kStream, kHealth, kOther };
Endpoint Classify(std::string_view path);

struct Outcome {
  enum class Kind {
    kReply,   // `reply`, whose head the loop writes.
    kRaw,     // `raw`: a whole response, head included (a static file).
    kPoll,    // `poll` is handed to the delivery.
    kStream,  // `stream` likewise, after its head.
    kLater,   // The answer comes through the `later` callback given to Handle.
  } kind = Kind::kReply;
  Reply reply;
  std::string raw;
  std::optional<LongPollSession> poll;
  std::optional<SseSession> stream;

  static Outcome Of(Reply reply);
  static Outcome Raw(std::string raw);
  static Outcome Of(LongPollSession poll);
  static Outcome Of(SseSession stream);
  static Outcome Later();
};

struct HeadVerdict {
  enum class Kind { kRefuse, kReadBody, kComplete } kind = Kind::kComplete;
  Reply refusal;
};

class Routes {
 public:
  explicit Routes(ServerContext& context) : context_(context) {}

  HeadVerdict OnHead(const RequestHead& head) const;

  // `later` may be called from any thread, once, for a kLater outcome; `subscribers`
  // counts this loop's subscribers of a channel (for the publish answer).
  using Later = std::function<void(Outcome)>;
  Outcome Handle(const RequestHead& head, std::string body, Later later,
                 const std::function<std::size_t(const std::string&)>& subscribers) const;

  // Who the client is: the peer, or what a trusted proxy says the client is.
  std::string ClientAddress(const std::string& peer, const RequestHead& head) const;

  // The CORS fields ("Name: value\r\n" lines) an answer to this request carries.
  std::string CorsLines(const RequestHead& head) const;

 private:
  std::optional<Reply> CheckToken(const std::string& token, const RequestHead& head,
                                  bool query_allowed) const;
  // The 405 for a method the endpoint does not take, or nullopt.
  std::optional<Reply> WrongMethod(Endpoint endpoint, std::string_view method,
                                   std::string_view path) const;
  Outcome Publish(const RequestHead& head, std::string body, Later later,
                  const std::function<std::size_t(const std::string&)>& subscribers) const;
  Outcome Poll(const RequestHead& head) const;
  Outcome Stream(const RequestHead& head) const;
  Outcome Health() const;
  Outcome Static(const RequestHead& head, Later later) const;

  ServerContext& context_;
};

}  // namespace livefeed
