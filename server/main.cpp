// livefeed: wiring only. Reads the options, builds store (memory or Redis) → feed → HTTP
// server, serves until SIGINT/SIGTERM, then lets every held client have its answer and exits.
// SIGHUP reads the options again and applies what a running server can take (see
// config/reload.h) while every held client stays connected.
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <iostream>
#include <memory>
#include <string_view>
#include <thread>

#include "config/config.h"
#include "config/reload.h"
#include "core/feed.h"
#include "http/auth_hook.h"
#include "http/http_server.h"
#include "log.h"
#include "metrics/metrics.h"
#include "store/memory_store.h"
#include "store/redis_store.h"
#include "systemd_notify.h"
#include "transport/auth/jwt.h"

extern char** environ;

namespace livefeed {
namespace {

// Every connection is a file descriptor: the soft limit (often 1024) would cap us long
// before --max-connections, so raise it to the hard limit.
std::size_t RaiseOpenFileLimit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  limit.rlim_cur = limit.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &limit);
  ::getrlimit(RLIMIT_NOFILE, &limit);
  return limit.rlim_cur;
}

// Found relative to the binary, so that a build serves its pages from wherever it lies:
// build/livefeed serves the repository's web/, an installed bin/livefeed the
// share/livefeed/web of its own prefix (LIVEFEED_WEB_FROM_BINDIR, set by CMake).
std::string DefaultWebRoot() {
  char exe[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return "web";
  const std::string_view path(exe, static_cast<std::size_t>(n));
  const std::string bin_dir(path.substr(0, path.rfind('/')));
  const std::string installed = bin_dir + "/" LIVEFEED_WEB_FROM_BINDIR;
  for (const std::string& candidate : {bin_dir + "/../web", installed}) {
    char resolved[PATH_MAX];
    if (::realpath(candidate.c_str(), resolved) && ::access(resolved, R_OK | X_OK) == 0) {
      return resolved;
    }
  }
  return installed;
}

std::vector<std::string> SplitList(const std::string& list) {
  std::vector<std::string> items;
  for (std::size_t start = 0; start < list.size();) {
    const std::size_t comma = std::min(list.find(',', start), list.size());
    std::string item = list.substr(start, comma - start);
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (!item.empty()) items.push_back(item);
    start = comma + 1;
  }
  return items;
}

// What the memory store may keep by default: a quarter of the machine's memory.
std::size_t DefaultMemoryLimit() {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page_size = ::sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page_size <= 0) return std::size_t{1} << 30;
  return static_cast<std::size_t>(pages) * static_cast<std::size_t>(page_size) / 4;
}

// The web root to serve: --web-root, or none when the default is missing (an installed
// binary has no web/ beside it). False (after saying why) for a given one that is missing.
bool ResolveWebRoot(const std::string& given, const std::string& default_web_root,
                    std::string* web_root) {
  *web_root = given;
  if (given.empty() || ::access(given.c_str(), R_OK | X_OK) == 0) return true;
  if (given != default_web_root) {
    std::cerr << "livefeed: --web-root '" << given << "' is not a readable directory\n";
    return false;
  }
  Log(LogLevel::kWarn, "no web root at " + given + ": static pages are not served");
  web_root->clear();
  return true;
}

// --max-connections, lowered to fit the open-file limit (raised as far as it goes; again
// on each reload, which may bring a new value).
std::size_t FitConnections(std::size_t max_connections) {
  const std::size_t file_limit = RaiseOpenFileLimit();
  // Leave room for the listening socket, logs and the few files the server opens itself.
  if (max_connections + 64 > file_limit) {
    max_connections = file_limit > 128 ? file_limit - 64 : 64;
    Log(LogLevel::kWarn, "--max-connections lowered to " + std::to_string(max_connections) +
                             ": the open-file limit is " + std::to_string(file_limit));
  }
  return max_connections;
}

// SIGINT, SIGTERM and SIGHUP are taken by one thread with sigwait; every thread started
// after this inherits the mask. SIGPIPE is ignored: a client gone mid-write is an error
// return.
sigset_t BlockSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  for (int signal : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&signals, signal);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  return signals;
}

bool IsLoopback(const std::string& address) {
  return address.rfind("127.", 0) == 0 || address == "::1" || address == "localhost";
}

// What a reload may change (see live_settings.h), with the signed tokens' verifier when a
// key is given. Returns what is wrong with the key, or empty.
std::string LiveSettingsOf(const Options& o, LiveSettings* live) {
  live->max_connections = FitConnections(o.max_connections);
  live->max_body = o.max_body;
  live->max_batch = o.max_batch;
  live->header_timeout = std::chrono::seconds(o.header_timeout);
  live->body_timeout = std::chrono::seconds(o.body_timeout);
  live->write_timeout = std::chrono::seconds(o.write_timeout);
  live->trusted_proxies = SplitList(o.trust_proxy);
  live->cors = CorsPolicy{.origins = SplitList(o.cors_origin)};
  live->publish_token = o.publish_token;
  live->subscribe_token = o.subscribe_token;
  live->admin_token = o.admin_token;
  live->long_poll.default_timeout = std::chrono::seconds(o.poll_timeout);
  live->long_poll.max_timeout_seconds = o.poll_timeout;
  live->long_poll.max_items = o.max_items;
  live->long_poll.max_answer_bytes = o.max_answer_bytes;
  live->sse.ping_interval = std::chrono::seconds(o.ping_interval);
  live->sse.retry_ms = o.sse_retry;
  live->sse.max_items = o.max_items;
  live->sse.write_timeout = std::chrono::seconds(o.write_timeout);
  live->jwt = nullptr;
  live->jwt_cookie.clear();
  if (o.jwt_secret.empty() && o.jwt_public_key.empty()) return {};
  std::optional<SignatureKey> key;
  std::string error;
  if (!o.jwt_secret.empty()) {
    key = SignatureKey::Secret(o.jwt_secret);
  } else if (!(key = SignatureKey::FromPublicKeyPem(o.jwt_public_key, &error))) {
    return "--jwt-public-key-file '" + o.jwt_public_key_file + "': " + error;
  }
  live->jwt = std::make_shared<const JwtVerifier>(std::move(*key), o.jwt_audience);
  live->jwt_cookie = o.jwt_cookie;
  return {};
}

// Everything HTTP but the hook; returns what is wrong with the signed tokens' key, or empty.
std::string HttpOptionsOf(const Options& o, const std::string& web_root, HttpOptions* http) {
  http->bind = o.bind;
  http->port = o.port;
  http->web_root = web_root;
  http->keep_alive_timeout = std::chrono::seconds(o.keep_alive_timeout);
  http->event_loops = o.event_loops;
  http->workers = std::max(2u, std::thread::hardware_concurrency());
  return LiveSettingsOf(o, &http->live);
}

// The application's hook, when --auth-url is given (config has checked that signed
// tokens and shared tokens are not given with it).
std::shared_ptr<AuthHook> MakeAuthHook(const Options& o) {
  if (o.auth_url.empty()) return nullptr;
  return std::make_shared<AuthHook>(
      AuthHookOptions{.host = o.auth_host,
                      .port = o.auth_port,
                      .path = o.auth_path,
                      .timeout = std::chrono::seconds(o.auth_timeout),
                      .cache = {.ttl = std::chrono::seconds(o.auth_cache)}});
}

// Who decides who may subscribe and publish, for the log.
void LogAuthorization(const Options& o, const LiveSettings& live) {
  if (live.jwt) {
    Log(LogLevel::kInfo, "subscribing and publishing need a token signed with " +
                             std::string(JwsAlgorithmName(live.jwt->algorithm())));
  }
  if (!o.auth_url.empty()) {
    Log(LogLevel::kInfo, "subscribing and publishing are authorized by " + o.auth_url);
  }
}

// The store --store names: memory, or Redis shared with other nodes. Only a Redis store
// has a thread to Start() and Stop().
struct Stores {
  std::unique_ptr<MemoryStore> memory;
  std::unique_ptr<RedisStore> redis;
  RedisEndpoint redis_endpoint;

  Store& store() { return memory ? static_cast<Store&>(*memory) : *redis; }
  // For the startup line: never the password.
  std::string Describe() const {
    return memory ? "memory" : "redis://" + DescribeEndpoint(redis_endpoint);
  }
};

Stores MakeStore(const Options& o) {
  Stores stores;
  const std::size_t memory_limit = o.memory_limit ? o.memory_limit : DefaultMemoryLimit();
  const std::int64_t max_age_us = std::int64_t{o.backlog_max_age} * 1'000'000;
  const std::int64_t window_us = std::int64_t{o.idempotency_window} * 1'000'000;
  if (o.store == "memory") {
    stores.memory =
        std::make_unique<MemoryStore>(MemoryStoreLimits{.max_items = o.backlog,
                                                        .max_bytes = o.backlog_max_bytes,
                                                        .max_age_us = max_age_us,
                                                        .memory_limit = memory_limit,
                                                        .max_channels = o.max_channels,
                                                        .idempotency_window_us = window_us},
                                      SystemWallClock());
    return stores;
  }
  RedisStoreOptions redis;
  redis.endpoint = o.redis;
  redis.prefix = o.redis_prefix;
  redis.limits = {.max_items = o.backlog,
                  .max_bytes = o.backlog_max_bytes,
                  .max_age_us = max_age_us,
                  .max_channels = o.max_channels,
                  .idempotency_window_us = window_us};
  // The node's in-memory tails hold what the memory store would: the same bound.
  redis.tail_memory = memory_limit;
  redis.tail_channels = o.max_channels;
  stores.redis_endpoint = o.redis;
  stores.redis = std::make_unique<RedisStore>(std::move(redis));
  return stores;
}

// Beyond loopback, what anyone who reaches the server may do without a token.
void WarnOfOpenDoors(const Options& o) {
  if (IsLoopback(o.bind)) return;
  const bool publishing_open = o.publish_token.empty() && o.jwt_secret.empty() &&
                               o.jwt_public_key.empty() && o.auth_url.empty();
  if (publishing_open) {
    Log(LogLevel::kWarn, "listening on " + o.bind +
                             " without --publish-token, --jwt-* or --auth-url: anyone who can "
                             "reach this server can publish");
  }
  if (o.admin_token.empty()) {
    Log(LogLevel::kWarn, "listening on " + o.bind +
                             " without --admin-token: anyone who can reach this server can "
                             "read /metrics and /channels (channel names included)");
  }
}

// How the process was started, kept so that a reload reads the options the same way.
struct Invocation {
  int argc;
  char** argv;
  std::string default_web_root;
};

// SIGHUP: reads the options again (the config and token files may have changed) and applies
// what can change without dropping a client; `running` becomes what is now in force. A
// config that no longer reads leaves everything as it was.
void Reload(const Invocation& invocation, Options& running, HttpServer& server) {
  NotifySystemdReloading();
  LoadResult loaded =
      LoadOptions(invocation.argc, invocation.argv, environ, invocation.default_web_root);
  ReloadPlan plan;
  LiveSettings live;
  std::string error = loaded.message;
  if (loaded.outcome == LoadResult::Outcome::kRun) {
    plan = PlanReload(running, loaded.options);
    error = LiveSettingsOf(plan.effective, &live);
  }
  if (loaded.outcome != LoadResult::Outcome::kRun || !error.empty()) {
    // A typo in the file must not take the server down: it goes on as it was.
    Log(LogLevel::kError, "reload failed, the running settings stay: " + error);
    NotifySystemd("READY=1");
    return;
  }
  SetLogLevel(*ParseLogLevel(plan.effective.log_level));
  SetLogFormat(*ParseLogFormat(plan.effective.log_format));
  server.Reload(std::move(live));
  WarnOfOpenDoors(plan.effective);
  running = std::move(plan.effective);
  Log(plan.need_restart.empty() ? LogLevel::kInfo : LogLevel::kWarn, DescribeReload(plan));
  NotifySystemd("READY=1");
}

const char* SignalName(int signal) {
  return signal == SIGINT ? "SIGINT" : signal == SIGTERM ? "SIGTERM" : "SIGHUP";
}

// The signal thread. SIGHUP reloads. The first SIGINT/SIGTERM stops the server; main waits
// for `stopped` before tearing down what this thread touches. A second one means "now".
void HandleSignals(sigset_t signals, const Invocation& invocation, Options running, Feed& feed,
                   HttpServer& server, std::promise<void>& stopped) {
  int signal = 0;
  while (sigwait(&signals, &signal) == 0 && signal == SIGHUP) {
    Reload(invocation, running, server);
  }
  Log(LogLevel::kInfo, std::string("stopping on ") + SignalName(signal));
  NotifySystemd("STOPPING=1");
  feed.Shutdown();
  server.Stop();
  stopped.set_value();
  // Past this point the server is going away: a reload has nothing left to change.
  while (sigwait(&signals, &signal) == 0 && signal == SIGHUP) {
  }
  std::_Exit(128 + signal);
}

int Run(int argc, char** argv) {
  const Invocation invocation{argc, argv, DefaultWebRoot()};
  LoadResult loaded = LoadOptions(argc, argv, environ, invocation.default_web_root);
  if (loaded.outcome == LoadResult::Outcome::kExitOk) {
    std::cout << loaded.message;
    return 0;
  }
  if (loaded.outcome == LoadResult::Outcome::kExitUsage) {
    std::cerr << "livefeed: " << loaded.message << "\n(see livefeed --help)\n";
    return 2;
  }
  const Options o = loaded.options;  // What the server starts with; reloads change a copy.
  SetLogLevel(*ParseLogLevel(o.log_level));
  SetLogFormat(*ParseLogFormat(o.log_format));
  std::string web_root;
  if (!ResolveWebRoot(o.web_root, invocation.default_web_root, &web_root)) return 2;

  const sigset_t signals = BlockSignals();

  WarnOfOpenDoors(o);
  HttpOptions http;
  if (std::string error = HttpOptionsOf(o, web_root, &http); !error.empty()) {
    std::cerr << "livefeed: " << error << "\n";
    return 2;
  }
  http.auth_hook = MakeAuthHook(o);
  LogAuthorization(o, http.live);
  const std::size_t max_connections = http.live.max_connections;
  // Built in this order and torn down in reverse: the HTTP loops stop first, then the
  // store's thread (whose last completions post to the loops), then the feed.
  // Outlives the server, which counts into it and is its source of live figures.
  metrics::Registry registry;
  Stores stores = MakeStore(o);
  Feed feed(stores.store());
  HttpServer server(feed, std::move(http), registry);
  // Bind adds the loops' listeners to the feed, which must come before the store starts.
  if (std::string error = server.Bind(); !error.empty()) {
    std::cerr << "livefeed: " << error << "\n";
    return 1;
  }
  // Returns at once: an unreachable Redis is retried in the background (/healthz says).
  if (stores.redis) stores.redis->Start();

  std::promise<void> stopped;
  std::thread(HandleSignals, signals, std::cref(invocation), o, std::ref(feed), std::ref(server),
              std::ref(stopped))
      .detach();

  std::printf(
      "livefeed listening on http://%s:%d (store=%s backlog=%zu backlog-max-age=%ds "
      "poll-timeout=%ds "
      "max-connections=%zu max-body=%zu web-root=%s)\n",
      o.bind.c_str(), server.port(), stores.Describe().c_str(), o.backlog, o.backlog_max_age,
      o.poll_timeout, max_connections, o.max_body, web_root.empty() ? "(none)" : web_root.c_str());
  std::fflush(stdout);
  // The socket listens (connections wait in its backlog until Run takes them).
  NotifySystemd("READY=1");

  server.Run();
  stopped.get_future().wait();
  if (stores.redis) stores.redis->Stop();
  Log(LogLevel::kInfo, "stopped");
  return 0;
}

}  // namespace
}  // namespace livefeed

int main(int argc, char** argv) { return livefeed::Run(argc, argv); }
