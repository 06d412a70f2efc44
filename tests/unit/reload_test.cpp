// PlanReload: which changed options a running server takes at once, which wait for a
// restart, and what the reload's log line says.
#include "config/reload.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "config/config.h"
#include "support/temp_dir.h"

namespace livefeed {
namespace {

bool Contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The options `livefeed --config <file>` runs with, read the way a reload reads them.
Options LoadWithConfig(const std::string& config) {
  const char* argv[] = {"livefeed", "--config", config.c_str(), nullptr};
  const char* environment[] = {nullptr};
  LoadResult loaded = LoadOptions(3, argv, environment, "/srv/livefeed/web");
  REQUIRE_MESSAGE(loaded.outcome == LoadResult::Outcome::kRun, loaded.message);
  return loaded.options;
}

TEST_CASE("a reload that changes nothing applies nothing and says so") {
  const Options running;
  ReloadPlan plan = PlanReload(running, running);
  CHECK(plan.applied.empty());
  CHECK(plan.need_restart.empty());
  CHECK(DescribeReload(plan) == "reloaded: nothing changed");
}

TEST_CASE("tokens, log level, CORS, proxies and per-request limits are applied at once") {
  const Options running;
  Options wanted;
  wanted.publish_token = "new-publish";
  wanted.subscribe_token = "new-subscribe";
  wanted.log_level = "debug";
  wanted.cors_origin = "https://a.example";
  wanted.trust_proxy = "127.0.0.1";
  wanted.max_connections = 500;
  wanted.max_items = 10;
  wanted.poll_timeout = 5;
  wanted.header_timeout = 3;
  ReloadPlan plan = PlanReload(running, wanted);
  for (const char* name :
       {"publish-token", "subscribe-token", "log-level", "cors-origin", "trust-proxy",
        "max-connections", "max-items", "poll-timeout", "header-timeout"}) {
    CAPTURE(name);
    CHECK(Contains(plan.applied, name));
  }
  CHECK(plan.need_restart.empty());
  CHECK(plan.effective.publish_token == "new-publish");
  CHECK(plan.effective.subscribe_token == "new-subscribe");
  CHECK(plan.effective.log_level == "debug");
  CHECK(plan.effective.cors_origin == "https://a.example");
  CHECK(plan.effective.max_connections == 500);
  CHECK(plan.effective.poll_timeout == 5);
}

TEST_CASE("the socket, the store and what is built at start keep their running values") {
  const Options running;
  Options wanted;
  wanted.bind = "0.0.0.0";
  wanted.port = 9000;
  wanted.backlog = 5;
  wanted.max_channels = 7;
  wanted.max_body = 100;
  wanted.keep_alive_timeout = 5;
  wanted.ping_interval = 1;
  wanted.web_root = "/elsewhere";
  ReloadPlan plan = PlanReload(running, wanted);
  CHECK(plan.applied.empty());
  CHECK(plan.need_restart.size() == 8);
  CHECK(Contains(plan.need_restart, "port (running 8001, configured 9000)"));
  CHECK(Contains(plan.need_restart, "bind (running 127.0.0.1, configured 0.0.0.0)"));
  CHECK(Contains(plan.need_restart, "web-root (running (none), configured /elsewhere)"));
  CHECK(plan.effective.port == 8001);
  CHECK(plan.effective.bind == "127.0.0.1");
  CHECK(plan.effective.backlog == running.backlog);
  CHECK(plan.effective.max_body == running.max_body);
}

TEST_CASE("a mixed reload applies what it can and its log line names both parts") {
  Options running;
  running.store = "memory";
  Options wanted = running;
  wanted.log_level = "warn";
  wanted.port = 9000;
  ReloadPlan plan = PlanReload(running, wanted);
  CHECK(plan.effective.log_level == "warn");
  CHECK(plan.effective.port == 8001);
  CHECK(DescribeReload(plan) ==
        "reloaded: log-level; not applied until a restart: port (running 8001, configured 9000)");
}

TEST_CASE("the log line names a changed token but never its value") {
  Options running;
  running.publish_token = "old-secret";
  Options wanted = running;
  wanted.publish_token = "new-secret";
  const std::string line = DescribeReload(PlanReload(running, wanted));
  CHECK(Contains(line, "publish-token"));
  CHECK_FALSE(Contains(line, "secret"));
}

TEST_CASE("a token file rewritten since the start is read again and its token applied") {
  testing::TempDir dir;
  const std::string token = dir.Write("publish.token", "first\n");
  const std::string config = dir.Write("livefeed.conf", "publish-token-file = " + token + "\n");
  const Options running = LoadWithConfig(config);
  CHECK(running.publish_token == "first");
  dir.Write("publish.token", "second\n");
  ReloadPlan plan = PlanReload(running, LoadWithConfig(config));
  CHECK(plan.applied == std::vector<std::string>{"publish-token"});
  CHECK(plan.effective.publish_token == "second");
}

// An option added to config.cpp but not to reload.cpp would be silently ignored by reloads.
TEST_CASE("a reload compares every option --help lists") {
  std::vector<std::string> planned = PlannedOptionNames();
  for (const std::string& name : OptionNames()) {
    if (name == "help") continue;
    CAPTURE(name);
    CHECK(Contains(planned, name));
  }
  CHECK(planned.size() + 1 == OptionNames().size());
}

}  // namespace
}  // namespace livefeed
