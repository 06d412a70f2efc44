// Remembers the application's authorization answers for a while, so that a client
// re-polling every few seconds does not cost a call to the application each time.
//   - Only answers are kept (200 and 403); a failure (503) is asked again next time.
//   - Keys are SHA-256 digests of the credentials, the action and the channels: 32 bytes
//     an entry whatever the size of the cookies, and no credentials kept in memory.
//   - Entries live `ttl`; there are at most `max_entries`, the oldest going first.
// Time enters as a parameter. Safe for concurrent use: one mutex guards all state.
#pragma once

#include <chrono>
#include <cstddef>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "transport/auth/auth_decision.h"
#include "transport/auth/credentials.h"

namespace livefeed {

// The cache key of a question: every credential (a cookie, an Authorization header or a
// ?token= may be what the application decides on), the action, and the channels in order.
std::string AuthCacheKey(AuthAction action, const std::vector<std::string>& channels,
                         const Credentials& credentials);

class AuthCache {
 public:
  struct Limits {
    std::chrono::seconds ttl{30};  // 0: nothing is kept.
    std::size_t max_entries = 10000;
  };

  explicit AuthCache(Limits limits);

  // The answer stored under `key` if it is younger than the ttl at `now`.
  std::optional<AuthDecision> Find(const std::string& key,
                                   std::chrono::steady_clock::time_point now);

  // Keeps `decision` under `key` from `now` on, if it is an answer (200 or 403).
  void Store(const std::string& key, const AuthDecision& decision,
             std::chrono::steady_clock::time_point now);

  std::size_t size() const;

 private:
  struct Entry {
    std::string key;
    AuthDecision decision;
    std::chrono::steady_clock::time_point expires;
  };
  using Entries = std::list<Entry>;

  // REQUIRES: mu_ held.
  void EvictExpired(std::chrono::steady_clock::time_point now);

  const Limits limits_;
  mutable std::mutex mu_;
  // Oldest first: with one ttl for all, also the first to expire. Guarded by mu_.
  Entries entries_;
  std::unordered_map<std::string, Entries::iterator> index_;  // Guarded by mu_.
};

}  // namespace livefeed
