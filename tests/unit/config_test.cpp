// LoadOptions: defaults, the order of precedence (command line, environment, config file) and
// the usage errors that stop the server before it starts.
#include "config/config.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace livefeed {
namespace {

constexpr char kWebRoot[] = "/srv/livefeed/web";

using Outcome = LoadResult::Outcome;

// Builds argv and environ arrays that outlive the call.
LoadResult Load(std::vector<std::string> args, std::vector<std::string> env = {}) {
  args.insert(args.begin(), "livefeed");
  std::vector<const char*> argv;
  for (const auto& arg : args) argv.push_back(arg.c_str());
  argv.push_back(nullptr);
  std::vector<const char*> environment;
  for (const auto& var : env) environment.push_back(var.c_str());
  environment.push_back(nullptr);
  return LoadOptions(static_cast<int>(args.size()), argv.data(), environment.data(), kWebRoot);
}

// A config file that is removed when the test ends.
class TempConfigFile {
 public:
  explicit TempConfigFile(const std::string& text) {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("livefeed_config_test_" + std::to_string(getpid()) + "_" + std::to_string(counter++) +
             ".conf");
    std::ofstream(path_) << text;
  }
  ~TempConfigFile() { std::filesystem::remove(path_); }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_CASE("no arguments run with the defaults") {
  LoadResult result = Load({});
  REQUIRE(result.outcome == Outcome::kRun);
  const Options defaults;
  CHECK(result.options.bind == defaults.bind);
  CHECK(result.options.port == 8001);
  CHECK(result.options.backlog == defaults.backlog);
  CHECK(result.options.backlog_max_age == defaults.backlog_max_age);
  CHECK(result.options.poll_timeout == 25);
  CHECK(result.options.max_body == defaults.max_body);
  CHECK(result.options.max_connections == defaults.max_connections);
  CHECK(result.options.max_items == defaults.max_items);
  CHECK(result.options.keep_alive_timeout == defaults.keep_alive_timeout);
  CHECK(result.options.sse_retry == defaults.sse_retry);
  CHECK(result.options.ping_interval == defaults.ping_interval);
  CHECK(result.options.log_level == defaults.log_level);
  CHECK(result.options.store == defaults.store);
  CHECK(result.options.trust_proxy.empty());
  CHECK(result.options.config_file.empty());
}

TEST_CASE("the web root defaults to the one main passes in") {
  CHECK(Load({}).options.web_root == kWebRoot);
  CHECK(Load({"--web-root="}).options.web_root.empty());
}

TEST_CASE("command line options set their values") {
  LoadResult result = Load({"--port", "9000", "--bind=0.0.0.0", "--backlog", "50", "--poll-timeout",
                            "30", "--log-level", "debug"});
  REQUIRE(result.outcome == Outcome::kRun);
  CHECK(result.options.port == 9000);
  CHECK(result.options.bind == "0.0.0.0");
  CHECK(result.options.backlog == 50);
  CHECK(result.options.poll_timeout == 30);
  CHECK(result.options.log_level == "debug");
}

TEST_CASE("a LIVEFEED_ environment variable sets its option") {
  LoadResult result = Load({}, {"LIVEFEED_POLL_TIMEOUT=40", "LIVEFEED_MAX_ITEMS=7"});
  REQUIRE(result.outcome == Outcome::kRun);
  CHECK(result.options.poll_timeout == 40);
  CHECK(result.options.max_items == 7);
}

TEST_CASE("the command line wins over the environment") {
  LoadResult result = Load({"--poll-timeout", "30"}, {"LIVEFEED_POLL_TIMEOUT=40"});
  REQUIRE(result.outcome == Outcome::kRun);
  CHECK(result.options.poll_timeout == 30);
}

TEST_CASE("a config file sets options") {
  TempConfigFile file("# Comments are allowed.\nport = 9100\npoll-timeout = 50\nbind = 10.0.0.1\n");
  LoadResult result = Load({"--config", file.path()});
  REQUIRE(result.outcome == Outcome::kRun);
  CHECK(result.options.port == 9100);
  CHECK(result.options.poll_timeout == 50);
  CHECK(result.options.bind == "10.0.0.1");
  CHECK(result.options.config_file == file.path());
}

TEST_CASE("the command line and the environment win over the config file") {
  TempConfigFile file("port = 9100\npoll-timeout = 50\nbacklog = 70\n");
  LoadResult result =
      Load({"--config", file.path(), "--port", "9200"}, {"LIVEFEED_POLL_TIMEOUT=40"});
  REQUIRE(result.outcome == Outcome::kRun);
  CHECK(result.options.port == 9200);        // Command line over file.
  CHECK(result.options.poll_timeout == 40);  // Environment over file.
  CHECK(result.options.backlog == 70);       // File over default.
}

TEST_CASE("the config file may be named in the environment") {
  TempConfigFile file("port = 9300\n");
  LoadResult result = Load({}, {"LIVEFEED_CONFIG=" + file.path()});
  REQUIRE(result.outcome == Outcome::kRun);
  CHECK(result.options.port == 9300);
}

TEST_CASE("a missing config file is a usage error") {
  LoadResult result = Load({"--config", "/nonexistent/livefeed.conf"});
  CHECK(result.outcome == Outcome::kExitUsage);
  CHECK(Contains(result.message, "/nonexistent/livefeed.conf"));
}

TEST_CASE("an unknown option in the config file is a usage error") {
  TempConfigFile file("colour = blue\n");
  LoadResult result = Load({"--config", file.path()});
  CHECK(result.outcome == Outcome::kExitUsage);
  CHECK(Contains(result.message, "colour"));
}

TEST_CASE("an invalid value in the config file is a usage error") {
  TempConfigFile file("port = 70000\n");
  LoadResult result = Load({"--config", file.path()});
  CHECK(result.outcome == Outcome::kExitUsage);
  CHECK(Contains(result.message, "--port"));
}

TEST_CASE("--help exits successfully and describes every option") {
  for (const char* flag : {"--help", "-h"}) {
    CAPTURE(flag);
    LoadResult result = Load({flag});
    CHECK(result.outcome == Outcome::kExitOk);
    for (const char* option :
         {"--help", "--config", "--bind", "--port", "--backlog", "--backlog-max-age",
          "--poll-timeout", "--max-body", "--max-connections", "--max-items",
          "--keep-alive-timeout", "--sse-retry", "--ping-interval", "--web-root", "--trust-proxy",
          "--store", "--log-level", "LIVEFEED_"}) {
      CAPTURE(option);
      CHECK(Contains(result.message, option));
    }
  }
}

TEST_CASE("--help wins over invalid values elsewhere") {
  CHECK(Load({"--help"}, {"LIVEFEED_PORT=99999"}).outcome == Outcome::kExitOk);
}

TEST_CASE("an unknown option is a usage error") {
  LoadResult result = Load({"--colour", "blue"});
  CHECK(result.outcome == Outcome::kExitUsage);
  CHECK(Contains(result.message, "colour"));
}

// Boost drops positional tokens unless told there are none: `livefeed 9000` would run on 8001.
TEST_CASE("a stray positional argument is a usage error") {
  CHECK(Load({"9000"}).outcome == Outcome::kExitUsage);
}

TEST_CASE("a non-numeric port is a usage error naming the option and the value") {
  LoadResult result = Load({"--port", "abc"});
  CHECK(result.outcome == Outcome::kExitUsage);
  CHECK(Contains(result.message, "port"));
  CHECK(Contains(result.message, "abc"));
}

TEST_CASE("a port above 65535 is a usage error") {
  LoadResult result = Load({"--port", "70000"});
  CHECK(result.outcome == Outcome::kExitUsage);
  CHECK(Contains(result.message, "--port must be 0..65535"));
}

TEST_CASE("a poll timeout of zero is a usage error") {
  LoadResult result = Load({"--poll-timeout", "0"});
  CHECK(result.outcome == Outcome::kExitUsage);
  CHECK(Contains(result.message, "--poll-timeout"));
}

TEST_CASE("out-of-range values of each option are usage errors") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--port", "-1"},
      {"--backlog", "0"},
      {"--backlog", "-1"},
      {"--backlog-max-age", "-1"},
      {"--poll-timeout", "3601"},
      {"--max-body", "0"},
      {"--max-connections", "0"},
      {"--max-items", "0"},
      {"--keep-alive-timeout", "0"},
      {"--sse-retry", "-1"},
      {"--ping-interval", "0"},
      {"--store", "redis"},
      {"--log-level", "loud"},
  };
  for (const auto& [option, value] : cases) {
    CAPTURE(option);
    CAPTURE(value);
    // "=" keeps a negative value from being read as an option of its own.
    LoadResult result = Load({option + "=" + value});
    CHECK(result.outcome == Outcome::kExitUsage);
    CHECK(Contains(result.message, option));
  }
}

TEST_CASE("an option missing its value is a usage error") {
  CHECK(Load({"--port"}).outcome == Outcome::kExitUsage);
}

TEST_CASE("an option given twice on the command line is a usage error") {
  CHECK(Load({"--port", "1", "--port", "2"}).outcome == Outcome::kExitUsage);
}

TEST_CASE("an invalid value from the environment is a usage error") {
  LoadResult result = Load({}, {"LIVEFEED_POLL_TIMEOUT=soon"});
  CHECK(result.outcome == Outcome::kExitUsage);
  CHECK(Contains(result.message, "poll-timeout"));
}

TEST_CASE("environment variables that are not options are ignored") {
  // Scripts and tests pass LIVEFEED_BIN and the like; the server must not refuse to start.
  LoadResult result = Load({}, {"LIVEFEED_BIN=/usr/bin/livefeed", "LIVEFEED_HELP=1", "PORT=1",
                                "HOME=/root", "LIVEFEED_NOEQUALS"});
  CHECK(result.outcome == Outcome::kRun);
  CHECK(result.options.port == 8001);
}

TEST_CASE("a null environment is allowed") {
  std::vector<const char*> argv = {"livefeed", nullptr};
  CHECK(LoadOptions(1, argv.data(), nullptr, kWebRoot).outcome == Outcome::kRun);
}

// The token file used to be refused as soon as it was read ("not both"): the conflict is
// between the options given, not with the token the file fills in.
TEST_CASE("a token file sets the token, without its trailing newline") {
  TempConfigFile publish("s3cret\n");
  TempConfigFile subscribe("reader\n\n");
  LoadResult result =
      Load({"--publish-token-file", publish.path(), "--subscribe-token-file", subscribe.path()});
  REQUIRE_MESSAGE(result.outcome == Outcome::kRun, result.message);
  CHECK(result.options.publish_token == "s3cret");
  CHECK(result.options.subscribe_token == "reader");
}

TEST_CASE("a token and a token file for the same thing is a usage error") {
  TempConfigFile file("s3cret\n");
  LoadResult result = Load({"--publish-token", "x", "--publish-token-file", file.path()});
  CHECK(result.outcome == Outcome::kExitUsage);
  CHECK(Contains(result.message, "not both"));
}

TEST_CASE("an empty or missing token file is a usage error") {
  TempConfigFile empty("\n");
  CHECK(Contains(Load({"--publish-token-file", empty.path()}).message, "cannot read a token"));
  CHECK(Contains(Load({"--subscribe-token-file", "/nonexistent/token"}).message,
                 "cannot read a token"));
}

}  // namespace
}  // namespace livefeed
