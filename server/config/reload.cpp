#include "config/reload.h"

#include <string_view>

namespace livefeed {
namespace {

std::string Show(const std::string& value) { return value.empty() ? "(none)" : value; }
template <typename T>
std::string Show(const T& value) {
  return std::to_string(value);
}

// One option: its name, whether a running server can take a new value, and how to compare,
// copy and print it.
struct Field {
  std::string_view name;
  bool reloadable;
  bool (*differs)(const Options&, const Options&);
  void (*copy)(Options& to, const Options& from);
  std::string (*show)(const Options&);
};

template <auto Member>
constexpr Field MakeField(std::string_view name, bool reloadable) {
  return {name, reloadable,
          [](const Options& a, const Options& b) { return a.*Member != b.*Member; },
          [](Options& to, const Options& from) { to.*Member = from.*Member; },
          [](const Options& o) { return Show(o.*Member); }};
}

constexpr bool kApplied = true;
constexpr bool kRestart = false;

// Every option of options.h. A reloadable one is read per request (or per new connection),
// so a new value takes effect for the next request while held clients stay connected.
constexpr Field kFields[] = {
    MakeField<&Options::log_level>("log-level", kApplied),
    MakeField<&Options::publish_token>("publish-token", kApplied),
    MakeField<&Options::publish_token_file>("publish-token-file", kApplied),
    MakeField<&Options::subscribe_token>("subscribe-token", kApplied),
    MakeField<&Options::subscribe_token_file>("subscribe-token-file", kApplied),
    MakeField<&Options::cors_origin>("cors-origin", kApplied),
    MakeField<&Options::trust_proxy>("trust-proxy", kApplied),
    // Lowering it refuses new connections only: open ones are never closed to fit.
    MakeField<&Options::max_connections>("max-connections", kApplied),
    MakeField<&Options::max_items>("max-items", kApplied),
    // Held polls keep the deadline they were given; new ones get the new timeout.
    MakeField<&Options::poll_timeout>("poll-timeout", kApplied),
    MakeField<&Options::header_timeout>("header-timeout", kApplied),
    // The listening socket.
    MakeField<&Options::bind>("bind", kRestart),
    MakeField<&Options::port>("port", kRestart),
    // The store and its limits are built once; the items it holds would be lost.
    MakeField<&Options::store>("store", kRestart),
    MakeField<&Options::backlog>("backlog", kRestart),
    MakeField<&Options::backlog_max_age>("backlog-max-age", kRestart),
    MakeField<&Options::max_channels>("max-channels", kRestart),
    // Timers of held connections and streams are set from these when they are parked.
    MakeField<&Options::keep_alive_timeout>("keep-alive-timeout", kRestart),
    MakeField<&Options::sse_retry>("sse-retry", kRestart),
    MakeField<&Options::ping_interval>("ping-interval", kRestart),
    // cpp-httplib takes its body limit once, when the server is built.
    MakeField<&Options::max_body>("max-body", kRestart),
    // The static file mount and the idempotency cache are set up at start.
    MakeField<&Options::web_root>("web-root", kRestart),
    MakeField<&Options::idempotency_window>("idempotency-window", kRestart),
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
  for (const Field& field : kFields) {
    if (!field.differs(running, wanted)) continue;
    if (field.reloadable) {
      field.copy(plan.effective, wanted);
      plan.applied.emplace_back(field.name);
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
