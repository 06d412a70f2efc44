// The settings a reload (SIGHUP) may change while the server runs, and where the current
// ones are published. A reload builds a whole new LiveSettings and publishes it; each event
// loop keeps the snapshot it read last (a LiveSettingsView) and looks for a newer one before
// each event it handles (one atomic load; the lock only when there is one), so a request, a
// poll or a stream sees one consistent set and reads plain fields: no lock per request or
// per delivery.
// LiveSettingsSlot is safe from any thread; a LiveSettingsView belongs to one thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "transport/access.h"
#include "transport/long_poll.h"
#include "transport/sse_stream.h"

namespace livefeed {

class JwtVerifier;

struct LiveSettings {
  std::size_t max_connections = 10000;      // Open connections, held ones included.
  std::size_t max_body = 64 * 1024;         // Bytes of a publish body, however it is framed.
  std::size_t max_batch = 1000;             // Items in one batch publish.
  std::chrono::seconds header_timeout{10};  // For a request's line and headers.
  std::chrono::seconds body_timeout{30};    // For a request's body, once its head is in.
  std::chrono::seconds write_timeout{60};   // A client that takes nothing this long is dropped.
  // Peers (reverse proxies) whose X-Real-IP / X-Forwarded-For header names the client.
  std::vector<std::string> trusted_proxies;
  std::string publish_token;    // Empty: publishing is open.
  std::string subscribe_token;  // Empty: subscribing is open.
  std::string admin_token;      // Empty: /metrics and /channels are open.
  // Signed channel tokens; null: none. Replaces the shared tokens above (config checks).
  std::shared_ptr<const JwtVerifier> jwt;
  std::string jwt_cookie;  // The cookie that may carry a token; empty: none.
  CorsPolicy cors;
  LongPollOptions long_poll;  // Taken by each poll when it opens: held ones keep theirs.
  SseOptions sse;             // Likewise for each stream.
};

class LiveSettingsSlot {
 public:
  explicit LiveSettingsSlot(LiveSettings initial)
      : current_(std::make_shared<const LiveSettings>(std::move(initial))) {}

  // Replaces the settings; every loop takes them before its next event.
  void Publish(LiveSettings next) {
    auto fresh = std::make_shared<const LiveSettings>(std::move(next));
    std::lock_guard lock(mu_);
    current_ = std::move(fresh);
    version_.fetch_add(1, std::memory_order_release);
  }

  std::shared_ptr<const LiveSettings> Load() const {
    std::lock_guard lock(mu_);
    return current_;
  }

  // Bumped by every Publish: a view compares it before taking the lock.
  std::uint64_t version() const { return version_.load(std::memory_order_acquire); }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const LiveSettings> current_;  // Guarded by mu_.
  std::atomic<std::uint64_t> version_{0};
};

class LiveSettingsView {
 public:
  explicit LiveSettingsView(const LiveSettingsSlot& slot)
      : slot_(slot), seen_(slot.version()), current_(slot.Load()) {}

  // Takes the newest settings if any were published since; cheap when none were. The old
  // ones may be freed here: hold no reference into them across a Refresh (sessions copy
  // what they take, so a held poll keeps its timeout).
  void Refresh() {
    const std::uint64_t version = slot_.version();
    if (version == seen_) return;
    seen_ = version;
    current_ = slot_.Load();
  }

  const LiveSettings& operator*() const { return *current_; }
  const LiveSettings* operator->() const { return current_.get(); }

 private:
  const LiveSettingsSlot& slot_;
  std::uint64_t seen_;
  std::shared_ptr<const LiveSettings> current_;
};

}  // namespace livefeed
