#include "http/auth_hook.h"

#include <httplib.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "log.h"

namespace livefeed {
namespace {

using json = nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

// Enough for any {"error": ...}; the rest of a larger answer is read and dropped.
constexpr std::size_t kMaxAnswerBytes = 16384;

std::string RequestBody(const AuthQuestion& question) {
  json headers = json::object();
  if (!question.credentials.cookie.empty()) headers["cookie"] = question.credentials.cookie;
  if (!question.credentials.authorization.empty()) {
    headers["authorization"] = question.credentials.authorization;
  }
  const json body = {{"action", std::string(AuthActionName(question.action))},
                     {"channels", question.channels},
                     {"headers", std::move(headers)},
                     {"client", question.client}};
  // Header values need not be UTF-8; they reach the application with U+FFFD in their place.
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

// A 403 passes the application's reason on; without one, a reason of our own.
AuthDecision Denied(const AuthQuestion& question, const std::string& answer) {
  const json body = json::parse(answer, nullptr, /*allow_exceptions=*/false);
  if (body.is_object() && body.contains("error") && body["error"].is_string()) {
    return RefuseAuth(403, body["error"].get<std::string>().substr(0, 200));
  }
  return RefuseAuth(
      403, "not allowed to " + std::string(AuthActionName(question.action)) + " on these channels");
}

AuthDecision Unavailable(const std::string& why) {
  Log(LogLevel::kWarn, "authorization hook: " + why + "; refusing with 503");
  return RefuseAuth(503, "authorization unavailable: " + why);
}

}  // namespace

AuthHook::AuthHook(AuthHookOptions options)
    : options_(std::move(options)), cache_(options_.cache) {}

std::optional<AuthDecision> AuthHook::Cached(const AuthQuestion& question,
                                             SteadyClock::time_point now) {
  return cache_.Find(AuthCacheKey(question.action, question.channels, question.credentials), now);
}

AuthDecision AuthHook::Authorize(const AuthQuestion& question, SteadyClock::time_point now) {
  const std::string key = AuthCacheKey(question.action, question.channels, question.credentials);
  if (std::optional<AuthDecision> cached = cache_.Find(key, now)) return *cached;
  AuthDecision decision = Ask(question);
  cache_.Store(key, decision, now);
  return decision;
}

AuthDecision AuthHook::Ask(const AuthQuestion& question) const {
  const SteadyClock::time_point deadline = SteadyClock::now() + options_.timeout;
  httplib::Client client(options_.host, options_.port);
  // These bound each connect, send and receive; the deadline checks below bound the whole.
  client.set_connection_timeout(options_.timeout);
  client.set_read_timeout(options_.timeout);
  client.set_write_timeout(options_.timeout);
  client.set_keep_alive(false);

  httplib::Request request;
  request.method = "POST";
  request.path = options_.path;
  request.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
  request.body = RequestBody(question);
  // An answer whose head arrives after the deadline is refused like one that never came.
  request.response_handler = [&](const httplib::Response&) {
    return SteadyClock::now() < deadline;
  };
  std::string answer;
  request.content_receiver = [&](const char* data, std::size_t length, std::uint64_t,
                                 std::uint64_t) {
    answer.append(data, std::min(length, kMaxAnswerBytes - answer.size()));
    return SteadyClock::now() < deadline;
  };

  httplib::Response response;
  httplib::Error error = httplib::Error::Success;
  if (!client.send(request, response, error)) {
    if (SteadyClock::now() >= deadline || error == httplib::Error::Canceled) {
      return Unavailable("no answer within " + std::to_string(options_.timeout.count()) + " ms");
    }
    const std::string where = options_.host + ":" + std::to_string(options_.port);
    if (error == httplib::Error::Connection) return Unavailable("cannot reach " + where);
    return Unavailable("no answer from " + where + " (" + httplib::to_string(error) + ")");
  }
  if (response.status == 200) return AllowAuth();
  if (response.status == 403) return Denied(question, answer);
  return Unavailable("the application answered " + std::to_string(response.status));
}

}  // namespace livefeed
