// LoadOptions: defaults, the order of precedence (command line, environment, config file) and
// the usage errors that stop the server before it starts.
#include "config/config.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <tuple>
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
  CHECK(result.options.log_format == "text");
  CHECK(result.options.store == defaults.store);
  CHECK(result.options.trust_proxy.empty());
  CHECK(result.options.config_file.empty());
  CHECK(result.options.jwt_secret.empty());
  CHECK(result.options.jwt_public_key.empty());
  CHECK(result.options.auth_url.empty());
  CHECK(result.options.auth_timeout == 2);
  CHECK(result.options.auth_cache == 30);
}

TEST_CASE("the web root defaults to the one main passes in") {
  CHECK(Load({}).options.web_root == kWebRoot);
  CHECK(Load({"--web-root="}).options.web_root.empty());
}

TEST_CASE("command line options set their values") {
  LoadResult result = Load({"--port", "9000", "--bind=0.0.0.0", "--backlog", "50", "--poll-timeout",
                            "30", "--log-level", "debug", "--log-format", "json"});
  REQUIRE(result.outcome == Outcome::kRun);
  CHECK(result.options.port == 9000);
  CHECK(result.options.bind == "0.0.0.0");
  CHECK(result.options.backlog == 50);
  CHECK(result.options.poll_timeout == 30);
  CHECK(result.options.log_level == "debug");
  CHECK(result.options.log_format == "json");
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
    for (const char* option : {"--help",
                               "--config",
                               "--bind",
                               "--port",
                               "--backlog",
                               "--backlog-max-age",
                               "--poll-timeout",
                               "--max-body",
                               "--max-connections",
                               "--max-items",
                               "--keep-alive-timeout",
                               "--sse-retry",
                               "--ping-interval",
                               "--web-root",
                               "--trust-proxy",
                               "--store",
                               "--redis-prefix",
                               "--log-level",
                               "--log-format",
                               "--jwt-secret",
                               "--jwt-secret-file",
                               "--jwt-public-key-file",
                               "--jwt-audience",
                               "--jwt-cookie",
                               "--auth-url",
                               "--auth-timeout",
                               "--auth-cache",
                               "--body-timeout",
                               "LIVEFEED_"}) {
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
      {"--log-format", "xml"},
      {"--auth-timeout", "0"},
      {"--auth-timeout", "61"},
      {"--auth-cache", "-1"},
      {"--auth-cache", "3601"},
      {"--header-timeout", "0"},
      {"--body-timeout", "0"},
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

TEST_CASE("a token file is read, without its final newline") {
  TempConfigFile publish("publisher-token\n");
  TempConfigFile subscribe("subscriber-token");
  TempConfigFile admin("admin-token\r\n");
  LoadResult result = Load({"--publish-token-file", publish.path(), "--subscribe-token-file",
                            subscribe.path(), "--admin-token-file", admin.path()});
  REQUIRE_MESSAGE(result.outcome == Outcome::kRun, result.message);
  CHECK(result.options.publish_token == "publisher-token");
  CHECK(result.options.subscribe_token == "subscriber-token");
  CHECK(result.options.admin_token == "admin-token");
}

TEST_CASE("a token and its file together are a usage error") {
  TempConfigFile file("publisher-token\n");
  LoadResult result = Load({"--publish-token", "x", "--publish-token-file", file.path()});
  CHECK(result.outcome == Outcome::kExitUsage);
  CHECK(Contains(result.message, "--publish-token or --publish-token-file"));
  LoadResult admin = Load({"--admin-token", "x", "--admin-token-file", file.path()});
  CHECK(admin.outcome == Outcome::kExitUsage);
  CHECK(Contains(admin.message, "--admin-token or --admin-token-file"));
}

// A made-up secret for these tests only.
constexpr char kSecret[] = "test-only-secret-0123456789abcdef";

TEST_CASE("the JWT secret comes from the option or from a file") {
  LoadResult direct =
      Load({"--jwt-secret", kSecret, "--jwt-audience", "feed", "--jwt-cookie", "lf_token"});
  REQUIRE_MESSAGE(direct.outcome == Outcome::kRun, direct.message);
  CHECK(direct.options.jwt_secret == kSecret);
  CHECK(direct.options.jwt_audience == "feed");
  CHECK(direct.options.jwt_cookie == "lf_token");
  TempConfigFile file(std::string(kSecret) + "\n");
  LoadResult from_file = Load({}, {"LIVEFEED_JWT_SECRET_FILE=" + file.path()});
  REQUIRE_MESSAGE(from_file.outcome == Outcome::kRun, from_file.message);
  CHECK(from_file.options.jwt_secret == kSecret);
}

TEST_CASE("the JWT public key file is read whole") {
  const std::string pem = "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----";
  TempConfigFile file(pem + "\n");
  LoadResult result = Load({"--jwt-public-key-file", file.path()});
  REQUIRE_MESSAGE(result.outcome == Outcome::kRun, result.message);
  CHECK(result.options.jwt_public_key == pem);
}

TEST_CASE("an unreadable or empty secret or key file is a usage error naming it") {
  TempConfigFile empty("\n");
  for (const char* option : {"--jwt-secret-file", "--jwt-public-key-file"}) {
    for (const std::string& path : {std::string("/nonexistent/key.pem"), empty.path()}) {
      CAPTURE(option);
      CAPTURE(path);
      LoadResult result = Load({option, path});
      CHECK(result.outcome == Outcome::kExitUsage);
      CHECK(Contains(result.message, "cannot read a"));
      CHECK(Contains(result.message, path));
    }
  }
}

TEST_CASE("JWT options that contradict each other or lack a key are usage errors") {
  TempConfigFile secret(kSecret);
  TempConfigFile key("-----BEGIN PUBLIC KEY-----\n");
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--jwt-secret", kSecret, "--jwt-secret-file", secret.path()},
       "--jwt-secret or --jwt-secret-file"},
      {{"--jwt-secret", kSecret, "--jwt-public-key-file", key.path()}, "not both"},
      {{"--jwt-secret", "short"}, "at least 32 bytes"},
      {{"--jwt-audience", "feed"}, "need --jwt-secret"},
      {{"--jwt-cookie", "lf"}, "need --jwt-secret"},
      {{"--jwt-secret", kSecret, "--jwt-cookie", "a b"}, "--jwt-cookie must be a cookie name"},
      {{"--jwt-secret", kSecret, "--jwt-cookie", "a=b"}, "--jwt-cookie must be a cookie name"},
      {{"--jwt-secret", kSecret, "--publish-token", "x"}, "replace --publish-token"},
      {{"--jwt-public-key-file", key.path(), "--subscribe-token", "x"}, "replace --publish-token"},
  };
  for (const auto& [args, message] : cases) {
    CAPTURE(args[0] + " " + args[1]);
    LoadResult result = Load(args);
    CHECK(result.outcome == Outcome::kExitUsage);
    CHECK(Contains(result.message, message));
  }
}

TEST_CASE("--auth-url is split into host, port and path") {
  const std::vector<std::tuple<std::string, std::string, int, std::string>> cases = {
      {"http://127.0.0.1:9000/authorize", "127.0.0.1", 9000, "/authorize"},
      {"http://localhost/auth?app=feed", "localhost", 80, "/auth?app=feed"},
      {"http://app.internal:8080", "app.internal", 8080, "/"},
      {"http://[::1]:9000/a/b", "::1", 9000, "/a/b"},
      {"http://[::1]/", "::1", 80, "/"},
  };
  for (const auto& [url, host, port, path] : cases) {
    CAPTURE(url);
    LoadResult result = Load({"--auth-url", url, "--auth-timeout", "5", "--auth-cache", "0"});
    REQUIRE_MESSAGE(result.outcome == Outcome::kRun, result.message);
    CHECK(result.options.auth_host == host);
    CHECK(result.options.auth_port == port);
    CHECK(result.options.auth_path == path);
    CHECK(result.options.auth_timeout == 5);
    CHECK(result.options.auth_cache == 0);
  }
}

TEST_CASE("a malformed --auth-url is a usage error quoting it") {
  for (const char* url :
       {"127.0.0.1:9000/authorize", "ftp://host/x", "http://", "http://:9000/x", "http://host:/x",
        "http://host:0/x", "http://host:65536/x", "http://host:9k/x", "http://host:-1/x",
        "http://user@host/x", "http://host/a b", "http://host/x#top", "http://[::1/x",
        "http://[::1]x/", "http://ho_st/x", "HTTP://host/x"}) {
    CAPTURE(url);
    LoadResult result = Load({"--auth-url", url});
    CHECK(result.outcome == Outcome::kExitUsage);
    CHECK(Contains(result.message,
                   std::string("--auth-url must be http://host[:port]/path, not '") + url + "'"));
  }
  LoadResult https = Load({"--auth-url", "https://app.example/authorize"});
  CHECK(https.outcome == Outcome::kExitUsage);
  CHECK(Contains(https.message, "https is not supported"));
}

TEST_CASE("the hook and the other ways of deciding access are exclusive") {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--jwt-secret", kSecret},
        std::vector<std::string>{"--publish-token", "x"},
        std::vector<std::string>{"--subscribe-token", "x"}}) {
    std::vector<std::string> all = args;
    all.insert(all.end(), {"--auth-url", "http://127.0.0.1:9000/authorize"});
    LoadResult result = Load(all);
    CHECK(result.outcome == Outcome::kExitUsage);
    CHECK(Contains(result.message, "--auth-url replaces"));
  }
}

TEST_CASE("--store takes a redis:// URL, split into its parts, with a prefix") {
  LoadResult memory = Load({});
  CHECK(memory.options.store == "memory");
  CHECK(memory.options.redis_prefix == "livefeed:");

  LoadResult plain = Load({"--store", "redis://127.0.0.1:6390"});
  REQUIRE_MESSAGE(plain.outcome == Outcome::kRun, plain.message);
  CHECK(plain.options.redis.host == "127.0.0.1");
  CHECK(plain.options.redis.port == 6390);
  CHECK(plain.options.redis.password.empty());
  CHECK(plain.options.redis.db == 0);

  LoadResult full =
      Load({"--store=redis://:s%40cret@redis.internal:6379/2"}, {"LIVEFEED_REDIS_PREFIX=feed-a:"});
  REQUIRE_MESSAGE(full.outcome == Outcome::kRun, full.message);
  CHECK(full.options.redis.host == "redis.internal");
  CHECK(full.options.redis.password == "s@cret");
  CHECK(full.options.redis.db == 2);
  CHECK(full.options.redis_prefix == "feed-a:");
}

TEST_CASE("a malformed --store or --redis-prefix is a usage error that never echoes a password") {
  for (const char* store : {"redis", "mem", "redis://", "redis://:@host:1", "redis://host:0",
                            "redis://host:port", "redis://host:6379/x", "redis://host?db=1",
                            "rediss://host:6379", "redis://pass@host:6379"}) {
    CAPTURE(store);
    LoadResult result = Load({"--store", store});
    CHECK(result.outcome == Outcome::kExitUsage);
    CHECK(Contains(result.message, "--store"));
  }
  LoadResult secret = Load({"--store", "redis://:hunter2@host:99999"});
  CHECK(secret.outcome == Outcome::kExitUsage);
  CHECK(Contains(secret.message, "port"));
  CHECK_FALSE(Contains(secret.message, "hunter2"));

  LoadResult prefix = Load({"--store", "redis://127.0.0.1:6379", "--redis-prefix", "a b"});
  CHECK(prefix.outcome == Outcome::kExitUsage);
  CHECK(Contains(prefix.message, "--redis-prefix"));
}

TEST_CASE("a null environment is allowed") {
  std::vector<const char*> argv = {"livefeed", nullptr};
  CHECK(LoadOptions(1, argv.data(), nullptr, kWebRoot).outcome == Outcome::kRun);
}

}  // namespace
}  // namespace livefeed
