#include "transport/auth/auth_cache.h"

#include "transport/auth/crypto.h"

namespace livefeed {
namespace {

// Length-prefixed, so that no two different questions serialize alike.
void AppendField(std::string& out, std::string_view field) {
  out += std::to_string(field.size());
  out += ':';
  out += field;
}

}  // namespace

std::string AuthCacheKey(AuthAction action, const std::vector<std::string>& channels,
                         const Credentials& credentials) {
  std::string question;
  AppendField(question, AuthActionName(action));
  AppendField(question, credentials.authorization);
  AppendField(question, credentials.cookie);
  AppendField(question, credentials.query_token);
  question += std::to_string(channels.size());
  for (const std::string& channel : channels) AppendField(question, channel);
  return Sha256(question);
}

AuthCache::AuthCache(Limits limits) : limits_(limits) {}

std::optional<AuthDecision> AuthCache::Find(const std::string& key,
                                            std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(mu_);
  const auto found = index_.find(key);
  if (found == index_.end()) return std::nullopt;
  if (now >= found->second->expires) {
    entries_.erase(found->second);
    index_.erase(found);
    return std::nullopt;
  }
  return found->second->decision;
}

void AuthCache::Store(const std::string& key, const AuthDecision& decision,
                      std::chrono::steady_clock::time_point now) {
  // A failure says nothing about the next call: remembering it would prolong an outage.
  if (decision.status != 200 && decision.status != 403) return;
  if (limits_.ttl.count() <= 0 || limits_.max_entries == 0) return;
  std::lock_guard lock(mu_);
  if (const auto found = index_.find(key); found != index_.end()) {
    entries_.erase(found->second);
    index_.erase(found);
  }
  EvictExpired(now);
  if (entries_.size() >= limits_.max_entries) {
    index_.erase(entries_.front().key);
    entries_.pop_front();
  }
  entries_.push_back({key, decision, now + limits_.ttl});
  index_.emplace(key, std::prev(entries_.end()));
}

std::size_t AuthCache::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

void AuthCache::EvictExpired(std::chrono::steady_clock::time_point now) {
  while (!entries_.empty() && now >= entries_.front().expires) {
    index_.erase(entries_.front().key);
    entries_.pop_front();
  }
}

}  // namespace livefeed
