// Asks the application whether a request may subscribe or publish (--auth-url):
//   1. The answer cached for the same credentials, action and channels is used if there
//      is one (auth_cache.h, --auth-cache seconds).
//   2. Otherwise livefeed POSTs {"action", "channels", "headers": {"cookie",
//      "authorization"}, "client"} to the application, on a connection of its own, with
//      --auth-timeout for the whole call.
//   3. 200 allows; 403 refuses, passing on the application's JSON "error". Anything else
//      (a timeout, no connection, a 5xx, a 401, a redirect) refuses with 503 and
//      Retry-After: the least permissive answer that still tells clients to retry, never
//      a 403 that would make them give up. Only 200 and 403 are cached.
// Authorize blocks for up to the timeout: run it on a worker, never on the event loop.
// Safe for concurrent use from any number of threads: each call has its own connection
// (one shared httplib::Client would serialize them) and the cache has its own lock.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "transport/auth/auth_cache.h"
#include "transport/auth/auth_decision.h"
#include "transport/auth/credentials.h"

namespace livefeed {

struct AuthHookOptions {
  std::string host;  // From --auth-url http://host:port/path.
  int port = 80;
  std::string path = "/";
  std::chrono::milliseconds timeout{2000};
  AuthCache::Limits cache;
};

struct AuthQuestion {
  AuthAction action = AuthAction::kSubscribe;
  std::vector<std::string> channels;
  Credentials credentials;
  std::string client;  // The client's address, as the access log names it.
};

class AuthHook {
 public:
  explicit AuthHook(AuthHookOptions options);

  // The answer for `question`: from the cache, or from the application (blocking).
  AuthDecision Authorize(const AuthQuestion& question, std::chrono::steady_clock::time_point now);

  // The cached answer alone, without blocking: the event loop can answer with it at once
  // and hand only the questions it does not have to a worker.
  std::optional<AuthDecision> Cached(const AuthQuestion& question,
                                     std::chrono::steady_clock::time_point now);

 private:
  AuthDecision Ask(const AuthQuestion& question) const;

  const AuthHookOptions options_;
  AuthCache cache_;
};

}  // namespace livefeed
