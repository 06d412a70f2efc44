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
  wanted.admin_token = "new-admin";
  wanted.log_level = "debug";
  wanted.log_format = "json";
  wanted.cors_origin = "https://a.example";
  wanted.trust_proxy = "127.0.0.1";
  wanted.max_connections = 500;
  wanted.max_body = 100;
  wanted.max_batch = 3;
  wanted.max_items = 10;
  wanted.max_answer_bytes = 4096;
  wanted.poll_timeout = 5;
  wanted.header_timeout = 3;
  wanted.body_timeout = 4;
  wanted.write_timeout = 7;
  wanted.ping_interval = 1;
  wanted.sse_retry = 500;
  ReloadPlan plan = PlanReload(running, wanted);
  for (const char* name :
       {"publish-token", "subscribe-token", "admin-token", "log-level", "log-format", "cors-origin",
        "trust-proxy", "max-connections", "max-body", "max-batch", "max-items", "max-answer-bytes",
        "poll-timeout", "header-timeout", "body-timeout", "write-timeout", "ping-interval",
        "sse-retry"}) {
    CAPTURE(name);
    CHECK(Contains(plan.applied, name));
  }
  CHECK(plan.need_restart.empty());
  CHECK(plan.effective.publish_token == "new-publish");
  CHECK(plan.effective.subscribe_token == "new-subscribe");
  CHECK(plan.effective.admin_token == "new-admin");
  CHECK(plan.effective.log_level == "debug");
  CHECK(plan.effective.cors_origin == "https://a.example");
  CHECK(plan.effective.max_connections == 500);
  CHECK(plan.effective.poll_timeout == 5);
  CHECK(plan.effective.write_timeout == 7);
  CHECK(plan.effective.body_timeout == 4);
}

TEST_CASE("a new signing key and audience are applied at once") {
  Options running;
  running.jwt_secret = std::string(32, 'a');
  Options wanted = running;
  wanted.jwt_secret = std::string(32, 'b');
  wanted.jwt_audience = "feed";
  ReloadPlan plan = PlanReload(running, wanted);
  CHECK(plan.applied == std::vector<std::string>{"jwt-secret", "jwt-audience"});
  CHECK(plan.effective.jwt_secret == wanted.jwt_secret);
  CHECK_FALSE(Contains(DescribeReload(plan), "bbbb"));
}

TEST_CASE("the socket, the store and what is built at start keep their running values") {
  const Options running;
  Options wanted;
  wanted.bind = "0.0.0.0";
  wanted.port = 9000;
  wanted.event_loops = 2;
  wanted.backlog = 5;
  wanted.backlog_max_bytes = 1000;
  wanted.memory_limit = 1 << 20;
  wanted.max_channels = 7;
  wanted.idempotency_window = 60;
  wanted.keep_alive_timeout = 5;
  wanted.web_root = "/elsewhere";
  wanted.redis_prefix = "other:";
  ReloadPlan plan = PlanReload(running, wanted);
  CHECK(plan.applied.empty());
  CHECK(plan.need_restart.size() == 11);
  CHECK(Contains(plan.need_restart, "port (running 8001, configured 9000)"));
  CHECK(Contains(plan.need_restart, "bind (running 127.0.0.1, configured 0.0.0.0)"));
  CHECK(Contains(plan.need_restart, "web-root (running (none), configured /elsewhere)"));
  CHECK(Contains(plan.need_restart, "event-loops (running 1, configured 2)"));
  CHECK(plan.effective.port == 8001);
  CHECK(plan.effective.bind == "127.0.0.1");
  CHECK(plan.effective.backlog == running.backlog);
  CHECK(plan.effective.event_loops == running.event_loops);
}

TEST_CASE("a store URL that waits for a restart is named, never shown: it may hold a password") {
  const Options running;
  Options wanted;
  wanted.store = "redis://:hunter2@127.0.0.1:6379";
  ReloadPlan plan = PlanReload(running, wanted);
  CHECK(plan.need_restart == std::vector<std::string>{"store"});
  CHECK_FALSE(Contains(DescribeReload(plan), "hunter2"));
}

TEST_CASE("tokens wait with a new --auth-url, so two ways of deciding access never mix") {
  Options running;
  running.publish_token = "shared";
  Options wanted;
  wanted.auth_url = "http://127.0.0.1:9000/authorize";
  wanted.log_level = "debug";
  ReloadPlan plan = PlanReload(running, wanted);
  CHECK(plan.applied == std::vector<std::string>{"log-level"});
  CHECK(Contains(plan.need_restart, "publish-token"));
  CHECK(plan.effective.publish_token == "shared");
  CHECK(plan.effective.auth_url.empty());
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
