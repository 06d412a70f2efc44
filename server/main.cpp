// livefeed: wiring only. Reads the options, builds store → feed → HTTP server, serves until
// SIGINT/SIGTERM, then lets every held client have its answer and exits. SIGHUP reads the
// options again and applies what a running server can take (see config/reload.h).
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <iostream>
#include <string_view>
#include <thread>

#include "config/config.h"
#include "config/reload.h"
#include "core/feed.h"
#include "http/http_server.h"
#include "log.h"
#include "store/memory_store.h"
#include "systemd_notify.h"

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

// Since Linux 6.16 a threaded process gets a private futex hash sized by CPU count: 16
// buckets on two cores. With a thread (and a condition variable) per held stream, every
// wake then walks a chain of hundreds of waiters; perf showed futex_wake as the top symbol
// of a 10,000-client fan-out. Size it for the connections instead. Older kernels refuse
// the call (EINVAL), which changes nothing.
void SizeFutexHash(std::size_t connections) {
  constexpr int kPrFutexHash = 78;  // PR_FUTEX_HASH, absent from older headers.
  constexpr int kSetSlots = 1;      // PR_FUTEX_HASH_SET_SLOTS
  unsigned long slots = 16;
  while (slots < 2 * connections && slots < (1ul << 20)) slots *= 2;
  ::prctl(kPrFutexHash, kSetSlots, slots, 0, 0);
}

bool IsLoopback(const std::string& address) {
  return address.rfind("127.", 0) == 0 || address == "::1" || address == "localhost";
}

void WarnIfOpenToAll(const Options& o) {
  if (o.publish_token.empty() && !IsLoopback(o.bind)) {
    Log(LogLevel::kWarn,
        "listening on " + o.bind +
            " without --publish-token: anyone who can reach this server can publish");
  }
}

// Leaves room under the open-file limit for the listening socket, logs and the few files
// the server opens itself.
std::size_t FitConnections(std::size_t wanted, std::size_t file_limit) {
  if (wanted + 64 <= file_limit) return wanted;
  const std::size_t fitted = file_limit > 128 ? file_limit - 64 : 64;
  Log(LogLevel::kWarn, "--max-connections lowered to " + std::to_string(fitted) +
                           ": the open-file limit is " + std::to_string(file_limit));
  return fitted;
}

ReloadableSettings ReloadableFrom(const Options& o, std::size_t max_connections) {
  ReloadableSettings r;
  r.max_connections = max_connections;
  r.trusted_proxies = SplitList(o.trust_proxy);
  r.cors_origins = SplitList(o.cors_origin);
  r.publish_token = o.publish_token;
  r.subscribe_token = o.subscribe_token;
  r.header_timeout = std::chrono::seconds(o.header_timeout);
  r.long_poll.default_timeout = std::chrono::seconds(o.poll_timeout);
  r.long_poll.max_timeout_seconds = o.poll_timeout;
  r.long_poll.max_items = o.max_items;
  r.sse.ping_interval = std::chrono::seconds(o.ping_interval);
  r.sse.retry_ms = o.sse_retry;
  r.sse.max_items = o.max_items;
  return r;
}

HttpOptions HttpOptionsFrom(const Options& o, const std::string& web_root,
                            std::size_t max_connections) {
  HttpOptions http;
  http.bind = o.bind;
  http.port = o.port;
  http.max_body = o.max_body;
  http.web_root = web_root;
  http.idempotency_window = std::chrono::seconds(o.idempotency_window);
  http.keep_alive_timeout = std::chrono::seconds(o.keep_alive_timeout);
  http.reloadable = ReloadableFrom(o, max_connections);
  return http;
}

// How the process was started, kept so that a reload reads the options the same way.
struct Invocation {
  int argc;
  char** argv;
  std::string default_web_root;
  std::size_t file_limit;
};

// SIGHUP: reads the options again (the config and token files may have changed) and applies
// what can change without dropping a client; `running` becomes what is now in force.
void Reload(const Invocation& invocation, Options& running, HttpServer& server) {
  NotifySystemdReloading();
  LoadResult loaded =
      LoadOptions(invocation.argc, invocation.argv, environ, invocation.default_web_root);
  if (loaded.outcome != LoadResult::Outcome::kRun) {
    // A typo in the file must not take the server down: it goes on as it was.
    Log(LogLevel::kError, "reload failed, the running settings stay: " + loaded.message);
    NotifySystemd("READY=1");
    return;
  }
  ReloadPlan plan = PlanReload(running, loaded.options);
  SetLogLevel(*ParseLogLevel(plan.effective.log_level));
  server.Reload(ReloadableFrom(
      plan.effective, FitConnections(plan.effective.max_connections, invocation.file_limit)));
  WarnIfOpenToAll(plan.effective);
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
  Invocation invocation{argc, argv, DefaultWebRoot(), 0};
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

  std::string web_root = o.web_root;
  if (!web_root.empty() && ::access(web_root.c_str(), R_OK | X_OK) != 0) {
    if (web_root != invocation.default_web_root) {
      std::cerr << "livefeed: --web-root '" << web_root << "' is not a readable directory\n";
      return 2;
    }
    // A binary copied away from its web files: serve the feed without pages.
    Log(LogLevel::kWarn, "no web root at " + web_root + ": static pages are not served");
    web_root.clear();
  }

  invocation.file_limit = RaiseOpenFileLimit();
  const std::size_t max_connections = FitConnections(o.max_connections, invocation.file_limit);
  SizeFutexHash(max_connections);

  // Signals are taken by one thread with sigwait; every other thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  for (int signal : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&signals, signal);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  MemoryStore store({.max_items = o.backlog,
                     .max_age_us = std::int64_t{o.backlog_max_age} * 1'000'000,
                     .max_channels = o.max_channels},
                    SystemWallClock());
  WarnIfOpenToAll(o);
  Feed feed(store);

  HttpServer server(feed, HttpOptionsFrom(o, web_root, max_connections));
  if (std::string error = server.Bind(); !error.empty()) {
    std::cerr << "livefeed: " << error << "\n";
    return 1;
  }

  std::promise<void> stopped;
  std::thread(HandleSignals, signals, std::cref(invocation), o, std::ref(feed), std::ref(server),
              std::ref(stopped))
      .detach();

  std::printf(
      "livefeed listening on http://%s:%d (store=%s backlog=%zu backlog-max-age=%ds "
      "poll-timeout=%ds "
      "max-connections=%zu max-body=%zu web-root=%s)\n",
      o.bind.c_str(), server.port(), o.store.c_str(), o.backlog, o.backlog_max_age, o.poll_timeout,
      max_connections, o.max_body, web_root.empty() ? "(none)" : web_root.c_str());
  std::fflush(stdout);
  NotifySystemd("READY=1");

  server.Run();
  stopped.get_future().wait();
  Log(LogLevel::kInfo, "stopped");
  return 0;
}

}  // namespace
}  // namespace livefeed

int main(int argc, char** argv) { return livefeed::Run(argc, argv); }
