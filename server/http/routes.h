// What each request gets. The feed endpoints are matched exactly as sent (no
// percent-decoding, no extra or trailing slashes: "//send_feed_item" is not ours), and
// everything else is a static file or 404.
//   1. OnHead: once a request's head is in, before a byte of its body is read: refuse it
//      (wrong method, missing credentials, a body where none is taken, a body we will not
//      read), read its body, or take it as complete.
//   2. Handle: the whole request becomes an answer, a subscriber for the delivery (a poll
//      or a stream), or work that answers later (a store or worker that completes on
//      another thread).
//   3. A subscribe or publish goes on only once the Authorizer allows it: at once (a
//      signed token, a cached answer), or when the application has answered on a worker,
//      back on the loop (Outcome::Resume).
// One per event loop, used on its thread: it reads the loop's view of the settings a
// reload changes (Refresh, before each event), and the shared context.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "http/authorizer.h"
#include "http/live_settings.h"
#include "http/request_parser.h"
#include "http/server_context.h"
#include "transport/long_poll.h"
#include "transport/publish.h"
#include "transport/reply.h"
#include "transport/sse_stream.h"

namespace livefeed {

enum class Endpoint { kPublish, kPoll, kStream, kHealth, kMetrics, kChannels, kOther };
Endpoint Classify(std::string_view path);

struct Outcome {
  enum class Kind {
    kReply,   // `reply`, whose head the loop writes.
    kRaw,     // `raw`: a whole response, head included (a static file).
    kPoll,    // `poll` is handed to the delivery.
    kStream,  // `stream` likewise, after its head.
    kLater,   // The answer comes through the `later` callback given to Handle.
    kResume,  // `resume` is run on the loop, and its outcome applied (after a worker).
  } kind = Kind::kReply;
  Reply reply;
  std::string raw;
  std::optional<LongPollSession> poll;
  std::optional<SseSession> stream;
  std::function<Outcome()> resume;

  static Outcome Of(Reply reply);
  static Outcome Raw(std::string raw);
  static Outcome Of(LongPollSession poll);
  static Outcome Of(SseSession stream);
  static Outcome Later();
  static Outcome Resume(std::function<Outcome()> resume);
};

struct HeadVerdict {
  enum class Kind { kRefuse, kReadBody, kComplete } kind = Kind::kComplete;
  Reply refusal;
};

class Routes {
 public:
  explicit Routes(ServerContext& context)
      : context_(context), live_(context.live), authorizer_(context, live_) {}

  // Takes settings published by a reload since the last call, for the requests to come.
  void Refresh() { live_.Refresh(); }
  const LiveSettings& live() const { return *live_; }

  HeadVerdict OnHead(const RequestHead& head) const;

  // `later` may be called from any thread, once for each kLater outcome; `subscribers`
  // counts this loop's subscribers of a channel (for the publish answer; with an item id,
  // those it had when news of that item came, as SubscriberCensus::Loop counts); `client`
  // is the client's address (see ClientAddress).
  using Later = std::function<void(Outcome)>;
  using Subscribers = std::function<std::size_t(const std::string& channel, std::uint64_t id)>;
  Outcome Handle(const RequestHead& head, std::string body, const std::string& client, Later later,
                 const Subscribers& subscribers) const;

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
  Outcome Publish(const RequestHead& head, std::string body, const std::string& client, Later later,
                  const Subscribers& subscribers) const;
  Outcome Append(ParsedPublish parsed, Later later, const Subscribers& subscribers) const;
  Outcome Poll(const RequestHead& head, const std::string& client, const Later& later) const;
  Outcome Stream(const RequestHead& head, const std::string& client, const Later& later) const;
  // A poll or stream, once allowed.
  template <typename Session>
  Outcome Subscribe(Session session, const RequestHead& head, const QueryParams& params,
                    const std::string& client, const Later& later) const;
  // Goes on with `proceed` once the request is allowed: now, or back on the loop after the
  // application answered. A refusal is the answer (401, 403 or 503).
  using Proceed = std::function<Outcome(const AuthDecision&)>;
  Outcome Authorized(const Authorizer::Question& question, const Later& later,
                     Proceed proceed) const;
  Outcome Health() const;
  // The 503 for a subscriber from now while the store does not know where now is.
  std::optional<Reply> RefuseWithoutNow(bool from_now) const;
  Outcome Static(const RequestHead& head, Later later) const;

  ServerContext& context_;
  LiveSettingsView live_;
  const Authorizer authorizer_;
};

}  // namespace livefeed
