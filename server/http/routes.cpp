#include "http/routes.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "http/admin_routes.h"
#include "http/publish_answer.h"
#include "transport/form_decoding.h"
#include "transport/publish.h"

namespace livefeed {
namespace {

// Static files larger than this are read on a worker, not on the event loop.
constexpr std::size_t kInlineFileBytes = 256 * 1024;

Reply Error(int status, std::string_view message) { return JsonError(status, message); }

Reply MethodNotAllowed(std::string_view method, std::string_view path, const char* allow) {
  Reply reply = Error(405, std::string(method) + " is not allowed on " + std::string(path));
  reply.headers.emplace_back("Allow", allow);
  return reply;
}

std::optional<QueryParams> Query(const RequestHead& head) {
  QueryParams params;
  const bool ok =
      ForEachFormField(head.query(), [&params](std::string&& name, std::string&& value) {
        params.emplace(std::move(name), std::move(value));
      });
  if (!ok) return std::nullopt;
  return params;
}

Outcome Answer(Reply reply) { return Outcome::Of(std::move(reply)); }

std::string_view QueryToken(const QueryParams& params) {
  auto it = params.find("token");
  return it == params.end() ? std::string_view() : std::string_view(it->second);
}

// An allowed poll: held (no longer than its token lasts: answered then, and the client's
// next poll refused), or for a HEAD the head a GET would have, at once (never held).
Outcome Subscriber(LongPollSession session, bool head_only, const AuthDecision& decision) {
  if (head_only) {
    Reply reply;
    reply.headers.emplace_back("Cache-Control", "no-store");
    return Answer(std::move(reply));
  }
  if (auto expiry = Authorizer::SteadyExpiry(decision)) session.EndBy(*expiry);
  return Outcome::Of(std::move(session));
}

// An allowed stream: it outlives its token, which ends it with `event: unauthorized`.
Outcome Subscriber(SseSession session, bool head_only, const AuthDecision& decision) {
  if (head_only) {
    Reply reply;
    reply.content_type = "text/event-stream";
    reply.headers = {{"Cache-Control", "no-cache"}, {"X-Accel-Buffering", "no"}};
    return Answer(std::move(reply));
  }
  if (auto expiry = Authorizer::SteadyExpiry(decision)) session.ExpireAt(*expiry);
  return Outcome::Of(std::move(session));
}

}  // namespace

Outcome Outcome::Of(Reply reply) {
  Outcome outcome;
  outcome.reply = std::move(reply);
  return outcome;
}

Outcome Outcome::Raw(std::string raw) {
  Outcome outcome;
  outcome.kind = Kind::kRaw;
  outcome.raw = std::move(raw);
  return outcome;
}

Outcome Outcome::Of(LongPollSession poll) {
  Outcome outcome;
  outcome.kind = Kind::kPoll;
  outcome.poll = std::move(poll);
  return outcome;
}

Outcome Outcome::Of(SseSession stream) {
  Outcome outcome;
  outcome.kind = Kind::kStream;
  outcome.stream = std::move(stream);
  return outcome;
}

Outcome Outcome::Later() {
  Outcome outcome;
  outcome.kind = Kind::kLater;
  return outcome;
}

Outcome Outcome::Resume(std::function<Outcome()> resume) {
  Outcome outcome;
  outcome.kind = Kind::kResume;
  outcome.resume = std::move(resume);
  return outcome;
}

Endpoint Classify(std::string_view path) {
  if (path == "/send_feed_item") return Endpoint::kPublish;
  if (path == "/real_time_feed") return Endpoint::kPoll;
  if (path == "/real_time_feed/stream") return Endpoint::kStream;
  if (path == "/healthz") return Endpoint::kHealth;
  if (path == "/metrics") return Endpoint::kMetrics;
  if (path == "/channels" || path.starts_with("/channels/")) return Endpoint::kChannels;
  return Endpoint::kOther;
}

std::optional<Reply> Routes::WrongMethod(Endpoint endpoint, std::string_view method,
                                         std::string_view path) const {
  const bool cors = live_->cors.enabled() && endpoint != Endpoint::kHealth;
  const bool get = method == "GET" || method == "HEAD";
  switch (endpoint) {
    case Endpoint::kPublish:
      if (method == "POST" || (cors && method == "OPTIONS")) return std::nullopt;
      return MethodNotAllowed(method, path, cors ? "POST, OPTIONS" : "POST");
    case Endpoint::kPoll:
    case Endpoint::kStream:
    case Endpoint::kHealth:
      if (get || (cors && method == "OPTIONS")) return std::nullopt;
      return MethodNotAllowed(method, path, cors ? "GET, HEAD, OPTIONS" : "GET, HEAD");
    case Endpoint::kMetrics:
    case Endpoint::kChannels:
      // For operators and scrapers, never for another site's pages: no CORS.
      if (get) return std::nullopt;
      return MethodNotAllowed(method, path, "GET, HEAD");
    case Endpoint::kOther:
      return std::nullopt;
  }
  return std::nullopt;
}

HeadVerdict Routes::OnHead(const RequestHead& head) const {
  const Endpoint endpoint = Classify(head.path());
  const std::string_view method = head.method();
  auto refuse = [](Reply reply) {
    return HeadVerdict{HeadVerdict::Kind::kRefuse, std::move(reply)};
  };
  if (auto wrong = WrongMethod(endpoint, method, head.path())) return refuse(std::move(*wrong));
  if (endpoint != Endpoint::kPublish || method != "POST") {
    // Only a publish takes a body. Any other body is refused before a byte of it is read:
    // left unread it would be taken for the next request.
    if (head.declares_body()) {
      return refuse(endpoint == Endpoint::kOther && method != "GET" && method != "HEAD"
                        ? Error(404, "not found: " + std::string(head.path()))
                        : Error(400, std::string(method) + " " + std::string(head.path()) +
                                         " takes no request body"));
    }
    return {HeadVerdict::Kind::kComplete, {}};
  }
  // A publish: who may, and what it may be, is settled before the body is read.
  if (auto refusal = CheckToken(live_->publish_token, head, /*query_allowed=*/false)) {
    return refuse(std::move(*refusal));
  }
  if (auto refusal = authorizer_.CheckPublishHead(head)) return refuse(RefusalReply(*refusal));
  const std::string_view origin = head.Get(KnownField::kOrigin).value_or("");
  if (!live_->cors.MayPublishFrom(origin, head.Get(KnownField::kHost).value_or(""))) {
    return refuse(Error(403, "origin '" + std::string(origin.substr(0, 100)) +
                                 "' may not publish (see --cors-origin)"));
  }
  if (head.Get(KnownField::kContentEncoding)) {
    return refuse(Error(415, "Content-Encoding is not accepted: send the body uncompressed"));
  }
  const std::string_view type = head.Get(KnownField::kContentType).value_or("");
  if (PublishMediaOf(type) == PublishMedia::kOther) {
    return refuse(Error(415, UnsupportedMediaMessage(type)));
  }
  if (!head.chunked() && !head.content_length()) {
    // Without a length the body would be read until the client closes.
    return refuse(Error(411, "a publish needs a Content-Length (or chunked) body"));
  }
  return {HeadVerdict::Kind::kReadBody, {}};
}

std::optional<Reply> Routes::CheckToken(const std::string& token, const RequestHead& head,
                                        bool query_allowed) const {
  if (token.empty()) return std::nullopt;
  std::string query_token;
  if (query_allowed) {
    if (std::optional<QueryParams> params = Query(head)) {
      if (auto it = params->find("token"); it != params->end()) query_token = it->second;
    }
  }
  return livefeed::CheckToken(token, std::string(head.Get(KnownField::kAuthorization).value_or("")),
                              query_token);
}

Outcome Routes::Handle(const RequestHead& head, std::string body, const std::string& client,
                       Later later, const Subscribers& subscribers) const {
  const Endpoint endpoint = Classify(head.path());
  const std::string_view method = head.method();
  const bool cors_path = endpoint == Endpoint::kPublish || endpoint == Endpoint::kPoll ||
                         endpoint == Endpoint::kStream;
  if (method == "OPTIONS" && live_->cors.enabled() && cors_path) {
    return Answer(AnswerPreflight(live_->cors,
                                  std::string(head.Get(KnownField::kOrigin).value_or("")),
                                  endpoint == Endpoint::kPublish));
  }
  if (auto wrong = WrongMethod(endpoint, method, head.path())) return Answer(std::move(*wrong));
  switch (endpoint) {
    case Endpoint::kPublish:
      return Publish(head, std::move(body), client, std::move(later), subscribers);
    case Endpoint::kPoll:
      return Poll(head, client, later);
    case Endpoint::kStream:
      return Stream(head, client, later);
    case Endpoint::kHealth:
      return Health();
    case Endpoint::kMetrics:
      return ServeMetrics(context_, *live_, head, std::move(later));
    case Endpoint::kChannels:
      return ServeChannels(context_, *live_, head, std::move(later), subscribers);
    case Endpoint::kOther:
      if (method != "GET" && method != "HEAD") {
        return Answer(Error(404, "not found: " + std::string(head.path())));
      }
      return Static(head, std::move(later));
  }
  return Answer(Error(404, "not found"));
}

Outcome Routes::Authorized(const Authorizer::Question& question, const Later& later,
                           Proceed proceed) const {
  // Shared, so that the worker's copy does not copy what it holds (a publish's body).
  auto shared = std::make_shared<Proceed>(std::move(proceed));
  auto decided = [later, shared](AuthDecision decision) {
    if (!decision.allowed()) return later(Answer(RefusalReply(decision)));
    // Back on the loop: a publish counts the loop's subscribers there, a poll registers.
    later(Outcome::Resume([shared, decision] { return (*shared)(decision); }));
  };
  std::optional<AuthDecision> now = authorizer_.Decide(question, std::move(decided));
  if (!now) return Outcome::Later();
  if (!now->allowed()) return Answer(RefusalReply(*now));
  return (*shared)(*now);
}

Outcome Routes::Publish(const RequestHead& head, std::string body, const std::string& client,
                        Later later, const Subscribers& subscribers) const {
  std::optional<QueryParams> params = Query(head);
  if (!params) return Answer(Error(400, "malformed query string"));
  PublishRequest request{head.Get(KnownField::kContentType).value_or(""), std::move(body),
                         std::move(*params),
                         std::string(head.Get(KnownField::kIdempotencyKey).value_or(""))};
  ParsedPublish parsed = ParsePublish(request, live_->max_batch);
  if (!parsed.ok) return Answer(std::move(parsed.error));
  if (!authorizer_.enabled()) return Append(std::move(parsed), std::move(later), subscribers);
  // Every channel the publish writes to, each once, in the order of its items.
  std::vector<std::string> channels;
  for (const ItemDraft& draft : parsed.append.drafts) {
    if (std::find(channels.begin(), channels.end(), draft.channel) == channels.end()) {
      channels.push_back(draft.channel);
    }
  }
  // It may run after Handle returned: it keeps what it needs. Run once.
  auto proceed = [this, parsed = std::move(parsed), later,
                  subscribers](const AuthDecision&) mutable {
    return Append(std::move(parsed), later, subscribers);
  };
  return Authorized({.action = AuthAction::kPublish,
                     .channels = channels,
                     .head = head,
                     .query_token = {},
                     .client = client},
                    later, std::move(proceed));
}

Outcome Routes::Append(ParsedPublish parsed, Later later, const Subscribers& subscribers) const {
  const bool batch = parsed.batch;
  // A shared store completes on its own thread: the subscribers are counted on the loops'.
  // A store that appends at once (memory) needs none: none is made, for a closure this
  // large is an allocation per publish.
  Store::AppendDone done;
  if (!context_.feed.store().AppendsAtOnce()) {
    done = [this, batch, later](AppendResult result) {
      CountPublished(context_, result);
      if (context_.census.loops() != 1) {
        AnswerPublish(context_, result, batch, nullptr, later);
        return;
      }
      // The only loop counts its subscribers as it takes the answer: one hand-off back to
      // it, where a census would take two.
      later(Outcome::Resume([this, result = std::move(result), batch, later] {
        const Subscribers here = [this](const std::string& channel, std::uint64_t id) {
          return context_.census.CountOnOnlyLoop(channel, id);
        };
        std::optional<Reply> reply = AnswerPublish(context_, result, batch, &here, later);
        return reply ? Answer(std::move(*reply)) : Outcome::Later();
      }));
    };
  }
  std::optional<AppendResult> now =
      context_.feed.Publish(std::move(parsed.append), std::move(done));
  if (!now) return Outcome::Later();
  CountPublished(context_, *now);
  std::optional<Reply> reply = AnswerPublish(context_, *now, batch, &subscribers, later);
  return reply ? Answer(std::move(*reply)) : Outcome::Later();
}

Outcome Routes::Poll(const RequestHead& head, const std::string& client, const Later& later) const {
  if (auto refusal = CheckToken(live_->subscribe_token, head, true)) {
    return Answer(std::move(*refusal));
  }
  std::optional<QueryParams> params = Query(head);
  if (!params) return Answer(Error(400, "malformed query string"));
  LongPollSession::Opened opened =
      LongPollSession::Open(*params, live_->long_poll, LongPollSession::Clock::now());
  if (!opened.session) return Answer(std::move(opened.error));
  if (auto refusal = RefuseWithoutNow(opened.session->from_now())) {
    return Answer(std::move(*refusal));
  }
  return Subscribe(std::move(*opened.session), head, *params, client, later);
}

Outcome Routes::Stream(const RequestHead& head, const std::string& client,
                       const Later& later) const {
  if (auto refusal = CheckToken(live_->subscribe_token, head, true)) {
    return Answer(std::move(*refusal));
  }
  std::optional<QueryParams> params = Query(head);
  if (!params) return Answer(Error(400, "malformed query string"));
  SseSession::Opened opened = SseSession::Open(
      *params, std::string(head.Get(KnownField::kLastEventId).value_or("")), live_->sse);
  if (!opened.session) return Answer(std::move(opened.error));
  if (auto refusal = RefuseWithoutNow(opened.session->from_now())) {
    return Answer(std::move(*refusal));
  }
  return Subscribe(std::move(*opened.session), head, *params, client, later);
}

template <typename Session>
Outcome Routes::Subscribe(Session session, const RequestHead& head, const QueryParams& params,
                          const std::string& client, const Later& later) const {
  const bool head_only = head.method() == "HEAD";
  if (!authorizer_.enabled()) return Subscriber(std::move(session), head_only, AllowAuth());
  const std::vector<std::string> channels = session.channels();
  // It may run after Handle returned, on the loop: it keeps the session. Run once.
  auto proceed = [session = std::move(session), head_only](const AuthDecision& decision) mutable {
    return Subscriber(std::move(session), head_only, decision);
  };
  return Authorized({.action = AuthAction::kSubscribe,
                     .channels = channels,
                     .head = head,
                     .query_token = QueryToken(params),
                     .client = client},
                    later, std::move(proceed));
}

Outcome Routes::Health() const {
  const StoreHealth store = context_.feed.store().Health();
  nlohmann::ordered_json body = {{"status", store.up ? "ok" : "degraded"},
                                 {"store", store.up ? "up" : "down"}};
  // Why, for the operator: "connection refused", "a probe did not come back", ...
  if (!store.up) body["detail"] = store.detail;
  body["waiting"] = context_.waiting.load();
  body["connections"] = context_.open.load();
  body["refused"] = context_.refused.load();
  Reply reply;
  // A node whose store is down cannot publish or vouch for what it serves: a balancer's
  // health check takes it out until the store is back.
  if (!store.up) reply.status = 503;
  reply.headers.emplace_back("Cache-Control", "no-store");
  reply.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return Answer(std::move(reply));
}

std::optional<Reply> Routes::RefuseWithoutNow(bool from_now) const {
  Store& store = context_.feed.store();
  // A shared store that has never reached Redis does not know what "now" is (its head is
  // 0, which would mean "the whole backlog" once it connects).
  if (!from_now || store.Head() != 0 || store.Health().up) return std::nullopt;
  Reply reply = Error(503, "the feed store is unavailable, retry shortly");
  reply.headers.emplace_back("Retry-After", "1");
  return reply;
}

Outcome Routes::Static(const RequestHead& head, Later later) const {
  const std::optional<std::size_t> size = context_.static_files.Find(head.path());
  if (!size) return Answer(Error(404, "not found: " + std::string(head.path())));
  const bool close = !head.keep_alive();
  const std::string_view encodings = head.Get(KnownField::kAcceptEncoding).value_or("");
  if (*size <= kInlineFileBytes) {
    return Outcome::Raw(
        context_.static_files.Serve(head.method(), head.target(), encodings, close));
  }
  // A large file is read on a worker; the job outlives the head, so it takes copies.
  auto job = [this, method = std::string(head.method()), target = std::string(head.target()),
              encodings = std::string(encodings), close, later] {
    later(Outcome::Raw(context_.static_files.Serve(method, target, encodings, close)));
  };
  if (!context_.pool.Submit(std::move(job))) {
    Reply busy = Error(503, "the server is busy, retry in a second");
    busy.headers.emplace_back("Retry-After", "1");
    return Answer(std::move(busy));
  }
  return Outcome::Later();
}

std::string Routes::ClientAddress(const std::string& peer, const RequestHead& head) const {
  const auto& trusted = live_->trusted_proxies;
  if (std::find(trusted.begin(), trusted.end(), peer) == trusted.end()) return peer;
  if (auto real_ip = head.Get(KnownField::kXRealIp); real_ip && !real_ip->empty()) {
    return std::string(*real_ip);
  }
  // The last hop appended the address it saw; earlier entries are the client's own claims.
  std::string_view forwarded = head.Get(KnownField::kXForwardedFor).value_or("");
  if (forwarded.empty()) return peer;
  forwarded = forwarded.substr(forwarded.rfind(',') + 1);
  while (!forwarded.empty() && forwarded.front() == ' ') forwarded.remove_prefix(1);
  return forwarded.empty() ? peer : std::string(forwarded);
}

std::string Routes::CorsLines(const RequestHead& head) const {
  // A preflight's answer carries its own.
  if (!live_->cors.enabled() || head.method() == "OPTIONS") return {};
  const Endpoint endpoint = Classify(head.path());
  if (endpoint != Endpoint::kPublish && endpoint != Endpoint::kPoll &&
      endpoint != Endpoint::kStream) {
    return {};
  }
  std::string lines;
  for (const auto& [name, value] :
       live_->cors.ResponseHeaders(std::string(head.Get(KnownField::kOrigin).value_or("")),
                                   endpoint == Endpoint::kPublish)) {
    lines += name + ": " + value + "\r\n";
  }
  return lines;
}

}  // namespace livefeed
