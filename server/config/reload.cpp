#include "config/reload.h"

#include <string_view>

namespace livefeed {
namespace {

std::string Show(const std::string& value) { return value.empty() ? "(none)" : value; }
template <typename T>
std::string Show(const T& value) {
  return std::to_string(value);
}

// Applied: read per request, per new connection, or by each poll or stream as it opens.
// Restart: built once at start (a socket, the store, threads): the running value stays.
constexpr bool kApplied = true;
constexpr bool kRestart = false;

// Flags of a field.
// Its value (or a file's content) is never shown: a token, a key, a URL with a password.
constexpr unsigned kHidden = 1;
// Part of who may subscribe and publish: held back with a new --auth-url (see PlanReload).
constexpr unsigned kAuthorization = 2;

// One option: its name, whether a new value is applied, and how to compare, copy and print it.
struct Field {
  std::string_view name;
  bool reloadable;
  unsigned flags;
  bool (*differs)(const Options&, const Options&);
  void (*copy)(Options& to, const Options& from);
  std::string (*show)(const Options&);
};

template <auto Member>
constexpr Field MakeField(std::string_view name, bool reloadable, unsigned flags = 0) {
  return {name,
          reloadable,
          flags,
          [](const Options& a, const Options& b) { return a.*Member != b.*Member; },
          [](Options& to, const Options& from) { to.*Member = from.*Member; },
          [](const Options& o) { return Show(o.*Member); }};
}

// A file option whose content was read into `Value` by LoadOptions: the same path with a
// new content is a change too.
template <auto File, auto Value>
constexpr Field MakeFileField(std::string_view name) {
  return {
      name,
      kApplied,
      kHidden | kAuthorization,
      [](const Options& a, const Options& b) { return a.*File != b.*File || a.*Value != b.*Value; },
      [](Options& to, const Options& from) {
        to.*File = from.*File;
        to.*Value = from.*Value;
      },
      nullptr};
}

// Every option of --help but --help itself (a test checks).
constexpr Field kFields[] = {
    MakeField<&Options::log_level>("log-level", kApplied),
    MakeField<&Options::log_format>("log-format", kApplied),
    // Token files are read again by every reload: a rotated token is in force at once.
    MakeField<&Options::publish_token>("publish-token", kApplied, kHidden | kAuthorization),
    MakeField<&Options::publish_token_file>("publish-token-file", kApplied, kAuthorization),
    MakeField<&Options::subscribe_token>("subscribe-token", kApplied, kHidden | kAuthorization),
    MakeField<&Options::subscribe_token_file>("subscribe-token-file", kApplied, kAuthorization),
    MakeField<&Options::admin_token>("admin-token", kApplied, kHidden),
    MakeField<&Options::admin_token_file>("admin-token-file", kApplied),
    // The signed tokens' verifier is rebuilt: a rotated key is in force at once (streams
    // already open keep the expiry their token gave them).
    MakeField<&Options::jwt_secret>("jwt-secret", kApplied, kHidden | kAuthorization),
    MakeField<&Options::jwt_secret_file>("jwt-secret-file", kApplied, kAuthorization),
    MakeFileField<&Options::jwt_public_key_file, &Options::jwt_public_key>("jwt-public-key-file"),
    MakeField<&Options::jwt_audience>("jwt-audience", kApplied, kAuthorization),
    MakeField<&Options::jwt_cookie>("jwt-cookie", kApplied, kAuthorization),
    MakeField<&Options::cors_origin>("cors-origin", kApplied),
    MakeField<&Options::trust_proxy>("trust-proxy", kApplied),
    // Lowering it refuses new connections only: open ones are never closed to fit.
    MakeField<&Options::max_connections>("max-connections", kApplied),
    MakeField<&Options::max_body>("max-body", kApplied),
    MakeField<&Options::max_batch>("max-batch", kApplied),
    MakeField<&Options::header_timeout>("header-timeout", kApplied),
    MakeField<&Options::body_timeout>("body-timeout", kApplied),
    MakeField<&Options::write_timeout>("write-timeout", kApplied),
    // Held polls and streams keep what they opened with; new ones get the new values.
    MakeField<&Options::poll_timeout>("poll-timeout", kApplied),
    MakeField<&Options::max_items>("max-items", kApplied),
    MakeField<&Options::max_answer_bytes>("max-answer-bytes", kApplied),
    MakeField<&Options::ping_interval>("ping-interval", kApplied),
    MakeField<&Options::sse_retry>("sse-retry", kApplied),
    // The listening socket and the threads that serve it.
    MakeField<&Options::bind>("bind", kRestart),
    MakeField<&Options::port>("port", kRestart),
    MakeField<&Options::event_loops>("event-loops", kRestart),
    // The store and its limits are built once; the items it holds would be lost. The
    // store's URL may hold a password: never shown.
    MakeField<&Options::store>("store", kRestart, kHidden),
    MakeField<&Options::redis_prefix>("redis-prefix", kRestart),
    MakeField<&Options::backlog>("backlog", kRestart),
    MakeField<&Options::backlog_max_age>("backlog-max-age", kRestart),
    MakeField<&Options::backlog_max_bytes>("backlog-max-bytes", kRestart),
    MakeField<&Options::memory_limit>("memory-limit", kRestart),
    MakeField<&Options::max_channels>("max-channels", kRestart),
    MakeField<&Options::idempotency_window>("idempotency-window", kRestart),
    // The hook keeps a cache of the application's answers and its own connection settings.
    MakeField<&Options::auth_url>("auth-url", kRestart, kAuthorization),
    MakeField<&Options::auth_timeout>("auth-timeout", kRestart),
    MakeField<&Options::auth_cache>("auth-cache", kRestart),
    // The static files (and their Keep-Alive header) are set up at start.
    MakeField<&Options::keep_alive_timeout>("keep-alive-timeout", kRestart),
    MakeField<&Options::web_root>("web-root", kRestart),
    // The file a reload reads is the one named at start.
    MakeField<&Options::config_file>("config", kRestart),
};

std::string Join(const std::vector<std::string>& parts) {
  std::string text;
  for (const auto& part : parts) text += (text.empty() ? "" : ", ") + part;
  return text;
}

}  // namespace

ReloadPlan PlanReload(const Options& running, const Options& wanted) {
  ReloadPlan plan;
  plan.effective = running;
  // A new --auth-url waits for a restart; the tokens that would replace it (or that it would
  // replace) wait with it, so the server never mixes two ways of deciding access.
  const bool hold_authorization = running.auth_url != wanted.auth_url;
  for (const Field& field : kFields) {
    if (!field.differs(running, wanted)) continue;
    const bool restart =
        !field.reloadable || (hold_authorization && (field.flags & kAuthorization) != 0);
    if (!restart) {
      field.copy(plan.effective, wanted);
      plan.applied.emplace_back(field.name);
    } else if ((field.flags & kHidden) != 0) {
      plan.need_restart.emplace_back(field.name);
    } else {
      plan.need_restart.push_back(std::string(field.name) + " (running " + field.show(running) +
                                  ", configured " + field.show(wanted) + ")");
    }
  }
  return plan;
}

std::vector<std::string> PlannedOptionNames() {
  std::vector<std::string> names;
  for (const Field& field : kFields) names.emplace_back(field.name);
  return names;
}

std::string DescribeReload(const ReloadPlan& plan) {
  std::string text = "reloaded: ";
  text += plan.applied.empty() ? "nothing changed" : Join(plan.applied);
  if (!plan.need_restart.empty())
    text += "; not applied until a restart: " + Join(plan.need_restart);
  return text;
}

}  // namespace livefeed
