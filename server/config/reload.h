// What a reload (SIGHUP) may change in a running server, decided by comparing the options it
// runs with against the options read again. Plain values and pure functions, no I/O.
//   1. main re-reads the options (command line, environment, config file, token files).
//   2. PlanReload compares every option: a change that needs no new socket, store or thread
//      is applied; one that does (bind, port, store, event loops, the hook, ...) keeps its
//      running value and is named in `need_restart`.
//   3. main applies `effective` (log level and format, the HTTP server's LiveSettings) and
//      logs the plan's summary.
#pragma once

#include <string>
#include <vector>

#include "config/options.h"

namespace livefeed {

struct ReloadPlan {
  // What the server runs with from now on: `wanted` where a change can be applied, the
  // running value where it cannot.
  Options effective;
  std::vector<std::string> applied;  // Option names whose new value is in force now.
  // "port (running 8001, configured 8002)"; a secret (a token, the store's URL) by name only.
  std::vector<std::string> need_restart;
};

ReloadPlan PlanReload(const Options& running, const Options& wanted);

// The names of the options PlanReload compares (every option but --help, as a test checks).
std::vector<std::string> PlannedOptionNames();

// One log line for a plan: what was reloaded, what waits for a restart. Never a token.
std::string DescribeReload(const ReloadPlan& plan);

}  // namespace livefeed
