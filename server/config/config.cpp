#include "config/config.h"

#include <boost/program_options.hpp>
#include <fstream>
#include <sstream>
#include <tuple>
#include <vector>

#include "log.h"

namespace livefeed {
namespace po = boost::program_options;
namespace {

po::options_description Describe(Options& o, const std::string& default_web_root) {
  po::options_description desc(
      "livefeed options (also LIVEFEED_<NAME> environment variables, "
      "e.g. LIVEFEED_POLL_TIMEOUT, and NAME=value lines in --config)");
  // clang-format off
  desc.add_options()
    ("help,h", "print this help and exit")
    ("config", po::value(&o.config_file)->value_name("FILE"), "read options from FILE (NAME = value lines)")
    ("bind", po::value(&o.bind)->default_value(o.bind)->value_name("ADDR"), "address to listen on")
    ("port", po::value(&o.port)->default_value(o.port), "port to listen on (0: any free port)")
    ("backlog", po::value(&o.backlog)->default_value(o.backlog)->value_name("ITEMS"), "items kept per channel")
    ("backlog-max-age", po::value(&o.backlog_max_age)->default_value(o.backlog_max_age)->value_name("SECONDS"), "drop items older than this (0: keep by count only)")
    ("poll-timeout", po::value(&o.poll_timeout)->default_value(o.poll_timeout)->value_name("SECONDS"), "how long a long-poll is held; also the largest ?timeout=")
    ("max-body", po::value(&o.max_body)->default_value(o.max_body)->value_name("BYTES"), "largest publish body")
    ("max-connections", po::value(&o.max_connections)->default_value(o.max_connections), "open connections (held ones included); beyond: 503")
    ("max-items", po::value(&o.max_items)->default_value(o.max_items), "items per long-poll answer (the cursor fetches the rest)")
    ("keep-alive-timeout", po::value(&o.keep_alive_timeout)->default_value(o.keep_alive_timeout)->value_name("SECONDS"), "idle keep-alive connections are closed after this")
    ("sse-retry", po::value(&o.sse_retry)->default_value(o.sse_retry)->value_name("MS"), "reconnect delay sent to EventSource clients")
    ("ping-interval", po::value(&o.ping_interval)->default_value(o.ping_interval)->value_name("SECONDS"), "keep-alive comment interval on event streams")
    ("web-root", po::value(&o.web_root)->default_value(default_web_root)->value_name("DIR"), "static files served at / (empty: none)")
    ("trust-proxy", po::value(&o.trust_proxy)->value_name("ADDRS"), "comma-separated proxy addresses (e.g. 127.0.0.1) whose X-Real-IP / X-Forwarded-For names the client in the log")
    ("publish-token", po::value(&o.publish_token)->value_name("TOKEN"), "require Authorization: Bearer TOKEN to publish (default: anyone may publish)")
    ("publish-token-file", po::value(&o.publish_token_file)->value_name("FILE"), "read the publish token from FILE (keeps it out of ps and shell history)")
    ("subscribe-token", po::value(&o.subscribe_token)->value_name("TOKEN"), "require a token to subscribe (Bearer header or ?token=)")
    ("subscribe-token-file", po::value(&o.subscribe_token_file)->value_name("FILE"), "read the subscribe token from FILE")
    ("cors-origin", po::value(&o.cors_origin)->value_name("ORIGINS"), "comma-separated origins allowed to call from a browser; * allows any origin to subscribe (never to publish)")
    ("max-channels", po::value(&o.max_channels)->default_value(o.max_channels), "channels holding items at once; publishing to a new one beyond: 507")
    ("header-timeout", po::value(&o.header_timeout)->default_value(o.header_timeout)->value_name("SECONDS"), "a request's line and headers must arrive within this")
    ("idempotency-window", po::value(&o.idempotency_window)->default_value(o.idempotency_window)->value_name("SECONDS"), "how long a publish's Idempotency-Key is remembered")
    ("store", po::value(&o.store)->default_value(o.store), "where items are kept: memory")
    ("log-level", po::value(&o.log_level)->default_value(o.log_level), "debug, info (one line per request), warn or error");
  // clang-format on
  return desc;
}

// LIVEFEED_POLL_TIMEOUT=30 → "--poll-timeout=30"; other variables are none of ours.
std::vector<std::string> EnvironmentArguments(const char* const* environment,
                                              const po::options_description& desc) {
  std::vector<std::string> args;
  static constexpr std::string_view kPrefix = "LIVEFEED_";
  for (const char* const* entry = environment; entry && *entry; ++entry) {
    std::string_view var = *entry;
    if (var.substr(0, kPrefix.size()) != kPrefix) continue;
    const std::size_t eq = var.find('=');
    if (eq == std::string_view::npos) continue;
    std::string name(var.substr(kPrefix.size(), eq - kPrefix.size()));
    for (char& c : name)
      c = c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    // Variables such as LIVEFEED_BIN belong to scripts and tests, not to the server.
    if (name == "help" || !desc.find_nothrow(name, false)) continue;
    args.push_back("--" + name + "=" + std::string(var.substr(eq + 1)));
  }
  return args;
}

std::string Check(const Options& o) {
  if (o.port < 0 || o.port > 65535) return "--port must be 0..65535";
  if (o.backlog < 1 || o.backlog > 10'000'000) return "--backlog must be 1..10000000";
  if (o.backlog_max_age < 0) return "--backlog-max-age must be >= 0";
  if (o.poll_timeout < 1 || o.poll_timeout > 3600) return "--poll-timeout must be 1..3600 seconds";
  if (o.max_body < 1 || o.max_body > (64u << 20)) return "--max-body must be 1..67108864 bytes";
  if (o.max_connections < 1 || o.max_connections > 1'000'000)
    return "--max-connections must be 1..1000000";
  if (o.max_items < 1 || o.max_items > 1'000'000) return "--max-items must be 1..1000000";
  if (o.keep_alive_timeout < 1) return "--keep-alive-timeout must be >= 1";
  if (o.sse_retry < 0) return "--sse-retry must be >= 0";
  if (o.ping_interval < 1) return "--ping-interval must be >= 1";
  if (o.store != "memory") return "--store must be 'memory'";
  if (o.max_channels < 1) return "--max-channels must be >= 1";
  if (o.header_timeout < 1) return "--header-timeout must be >= 1";
  if (o.idempotency_window < 1) return "--idempotency-window must be >= 1";
  if (!ParseLogLevel(o.log_level)) return "--log-level must be debug, info, warn or error";
  return {};
}

// Fills in the tokens from --publish-token-file and --subscribe-token-file (read again on
// every reload). Returns what is wrong, or empty.
std::string ReadTokenFiles(Options& o) {
  for (auto [file, token, name] :
       {std::tuple{&o.publish_token_file, &o.publish_token, "publish"},
        std::tuple{&o.subscribe_token_file, &o.subscribe_token, "subscribe"}}) {
    if (file->empty()) continue;
    if (!token->empty()) {
      return std::string("give --") + name + "-token or --" + name + "-token-file, not both";
    }
    std::ifstream in(*file);
    std::stringstream text;
    text << in.rdbuf();
    *token = text.str();
    // Editors and `echo` end files with a newline that is no part of the token.
    while (!token->empty() && std::isspace(static_cast<unsigned char>(token->back())))
      token->pop_back();
    if (!in || token->empty()) return "cannot read a token from '" + *file + "'";
  }
  return {};
}

}  // namespace

std::vector<std::string> OptionNames() {
  Options scratch;
  const po::options_description desc = Describe(scratch, "");
  std::vector<std::string> names;
  for (const auto& option : desc.options()) names.push_back(option->long_name());
  return names;
}

LoadResult LoadOptions(int argc, const char* const* argv, const char* const* environment,
                       const std::string& default_web_root) {
  LoadResult result;
  po::options_description desc = Describe(result.options, default_web_root);
  try {
    po::variables_map vm;
    // The first value stored for an option wins: command line, then environment, then file.
    po::store(po::command_line_parser(argc, argv).options(desc).positional({}).run(), vm);
    po::store(po::command_line_parser(EnvironmentArguments(environment, desc)).options(desc).run(),
              vm);
    if (vm.count("help")) {
      std::ostringstream text;
      text << "usage: livefeed [options]\n\n" << desc;
      return {LoadResult::Outcome::kExitOk, result.options, text.str()};
    }
    if (vm.count("config")) {
      const std::string path = vm["config"].as<std::string>();
      std::ifstream file(path);
      if (!file)
        return {LoadResult::Outcome::kExitUsage, result.options,
                "cannot read config file '" + path + "'"};
      po::store(po::parse_config_file(file, desc), vm);
    }
    po::notify(vm);
  } catch (const po::error& e) {
    return {LoadResult::Outcome::kExitUsage, result.options, e.what()};
  }
  if (std::string problem = ReadTokenFiles(result.options); !problem.empty()) {
    return {LoadResult::Outcome::kExitUsage, result.options, problem};
  }
  if (std::string problem = Check(result.options); !problem.empty()) {
    return {LoadResult::Outcome::kExitUsage, result.options, problem};
  }
  return result;
}

}  // namespace livefeed
