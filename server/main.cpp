// livefeed: wiring only. Reads the options, builds store → feed → HTTP server, serves until
// SIGINT/SIGTERM, then lets every held client have its answer and exits.
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <thread>

#include "config/config.h"
#include "core/feed.h"
#include "http/http_server.h"
#include "log.h"
#include "store/memory_store.h"

#ifndef LIVEFEED_DEFAULT_WEB_ROOT
#define LIVEFEED_DEFAULT_WEB_ROOT ""
#endif

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

int Run(int argc, char** argv) {
  LoadResult loaded = LoadOptions(argc, argv, environ, LIVEFEED_DEFAULT_WEB_ROOT);
  if (loaded.outcome == LoadResult::Outcome::kExitOk) {
    std::cout << loaded.message;
    return 0;
  }
  if (loaded.outcome == LoadResult::Outcome::kExitUsage) {
    std::cerr << "livefeed: " << loaded.message << "\n(see livefeed --help)\n";
    return 2;
  }
  const Options& o = loaded.options;
  SetLogLevel(*ParseLogLevel(o.log_level));

  if (!o.web_root.empty() && ::access(o.web_root.c_str(), R_OK | X_OK) != 0) {
    std::cerr << "livefeed: --web-root '" << o.web_root << "' is not a readable directory\n";
    return 2;
  }

  std::size_t max_connections = o.max_connections;
  const std::size_t file_limit = RaiseOpenFileLimit();
  // Leave room for the listening socket, logs and the few files the server opens itself.
  if (max_connections + 64 > file_limit) {
    max_connections = file_limit > 128 ? file_limit - 64 : 64;
    Log(LogLevel::kWarn, "--max-connections lowered to " + std::to_string(max_connections) +
                             ": the open-file limit is " + std::to_string(file_limit));
  }

  // Signals are taken by one thread with sigwait; every other thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  MemoryStore store({.max_items = o.backlog, .max_age_us = std::int64_t{o.backlog_max_age} * 1'000'000},
                    SystemWallClock());
  Feed feed(store);

  HttpOptions http;
  http.bind = o.bind;
  http.port = o.port;
  http.max_connections = max_connections;
  http.max_body = o.max_body;
  http.web_root = o.web_root;
  http.keep_alive_timeout = std::chrono::seconds(o.keep_alive_timeout);
  http.long_poll.default_timeout = std::chrono::seconds(o.poll_timeout);
  http.long_poll.max_timeout_seconds = o.poll_timeout;
  http.long_poll.max_items = o.max_items;
  HttpServer server(feed, http);
  if (std::string error = server.Bind(); !error.empty()) {
    std::cerr << "livefeed: " << error << "\n";
    return 1;
  }

  std::thread signal_thread([&] {
    int signal = 0;
    sigwait(&signals, &signal);
    Log(LogLevel::kInfo, std::string("stopping on ") + (signal == SIGINT ? "SIGINT" : "SIGTERM"));
    feed.Shutdown();
    server.Stop();
    // A second signal means "now": skip answering the held clients.
    sigwait(&signals, &signal);
    std::_Exit(128 + signal);
  });
  signal_thread.detach();

  std::printf(
      "livefeed listening on http://%s:%d (store=%s backlog=%zu backlog-max-age=%ds poll-timeout=%ds "
      "max-connections=%zu max-body=%zu web-root=%s)\n",
      o.bind.c_str(), server.port(), o.store.c_str(), o.backlog, o.backlog_max_age, o.poll_timeout,
      max_connections, o.max_body, o.web_root.empty() ? "(none)" : o.web_root.c_str());
  std::fflush(stdout);

  server.Run();
  Log(LogLevel::kInfo, "stopped");
  return 0;
}

}  // namespace
}  // namespace livefeed

int main(int argc, char** argv) { return livefeed::Run(argc, argv); }
