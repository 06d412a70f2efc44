#include "config/config.h"

#include <arpa/inet.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <charconv>
#include <fstream>
#include <sstream>
#include <vector>

#include "log.h"

namespace livefeed {
namespace po = boost::program_options;
namespace {

bool IsAddressLiteral(const std::string& address) {
  unsigned char buffer[sizeof(in6_addr)];
  return ::inet_pton(AF_INET, address.c_str(), buffer) == 1 ||
         ::inet_pton(AF_INET6, address.c_str(), buffer) == 1;
}

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
    ("admin-token", po::value(&o.admin_token)->value_name("TOKEN"), "require Authorization: Bearer TOKEN for /metrics and /channels (default: anyone may read them)")
    ("admin-token-file", po::value(&o.admin_token_file)->value_name("FILE"), "read the admin token from FILE")
    ("cors-origin", po::value(&o.cors_origin)->value_name("ORIGINS"), "comma-separated origins allowed to call from a browser; * allows any origin to subscribe (never to publish)")
    ("jwt-secret", po::value(&o.jwt_secret)->value_name("SECRET"), "accept signed channel tokens (JWT) signed with HS256 and this secret (32 bytes or more)")
    ("jwt-secret-file", po::value(&o.jwt_secret_file)->value_name("FILE"), "read the HS256 secret from FILE")
    ("jwt-public-key-file", po::value(&o.jwt_public_key_file)->value_name("FILE"), "accept signed channel tokens checked with this PEM public key: RS256 (RSA) or ES256 (EC P-256)")
    ("jwt-audience", po::value(&o.jwt_audience)->value_name("AUD"), "tokens must name AUD in their aud claim")
    ("jwt-cookie", po::value(&o.jwt_cookie)->value_name("NAME"), "also take the token from the cookie NAME (besides Authorization: Bearer and ?token=)")
    ("auth-url", po::value(&o.auth_url)->value_name("URL"), "ask the application at http://host:port/path whether each subscribe and publish is allowed")
    ("auth-timeout", po::value(&o.auth_timeout)->default_value(o.auth_timeout)->value_name("SECONDS"), "how long the application may take to answer; then 503 + Retry-After")
    ("auth-cache", po::value(&o.auth_cache)->default_value(o.auth_cache)->value_name("SECONDS"), "how long the application's answer for the same credentials, action and channels is reused (0: never)")
    ("max-channels", po::value(&o.max_channels)->default_value(o.max_channels), "channels holding items at once; publishing to a new one beyond: 507")
    ("header-timeout", po::value(&o.header_timeout)->default_value(o.header_timeout)->value_name("SECONDS"), "a request's line and headers must arrive within this")
    ("body-timeout", po::value(&o.body_timeout)->default_value(o.body_timeout)->value_name("SECONDS"), "a publish body must arrive whole within this once its head is in, however steadily it trickles")
    ("idempotency-window", po::value(&o.idempotency_window)->default_value(o.idempotency_window)->value_name("SECONDS"), "how long a publish's Idempotency-Key is remembered")
    ("write-timeout", po::value(&o.write_timeout)->default_value(o.write_timeout)->value_name("SECONDS"), "a client that takes nothing for this long (a stalled stream, an unread answer) is dropped")
    ("max-answer-bytes", po::value(&o.max_answer_bytes)->default_value(o.max_answer_bytes)->value_name("BYTES"), "bytes of items per long-poll answer, at least one item (the cursor fetches the rest)")
    ("backlog-max-bytes", po::value(&o.backlog_max_bytes)->default_value(o.backlog_max_bytes)->value_name("BYTES"), "bytes of items kept per channel; the oldest are evicted first")
    ("memory-limit", po::value(&o.memory_limit)->default_value(o.memory_limit)->value_name("BYTES"), "bytes of items kept over all channels; the oldest are evicted first (0: a quarter of the machine's memory)")
    ("max-batch", po::value(&o.max_batch)->default_value(o.max_batch)->value_name("ITEMS"), "items in one batch publish (a JSON array)")
    ("event-loops", po::value(&o.event_loops)->default_value(o.event_loops)->value_name("N"), "threads serving connections, each an event loop")
    ("store", po::value(&o.store)->default_value(o.store)->value_name("STORE"), "where items are kept: memory (this process only), or redis://[:password@]host:port[/db] shared by several nodes")
    ("redis-prefix", po::value(&o.redis_prefix)->default_value(o.redis_prefix)->value_name("PREFIX"), "starts every Redis key and the announcement channel (with --store redis://...): nodes with the same prefix share one feed")
    ("log-level", po::value(&o.log_level)->default_value(o.log_level), "debug, info (one line per request), warn or error")
    ("log-format", po::value(&o.log_format)->default_value(o.log_format), "text, or json (one JSON object per line)");
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

constexpr std::size_t kMaxSecretFileBytes = 65536;

bool IsHostChar(char c, bool bracketed) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ||
         (bracketed && c == ':');
}

// RFC 6265 cookie-name: an HTTP token (RFC 9110 5.6.2).
bool IsCookieName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

// Splits --auth-url http://host[:port][/path] into auth_host, auth_port and auth_path.
// Returns what is wrong with it, if anything.
std::string ParseAuthUrl(Options& o) {
  if (o.auth_url.empty()) return {};
  const std::string usage = "--auth-url must be http://host[:port]/path, not '" + o.auth_url + "'";
  std::string_view rest = o.auth_url;
  if (rest.starts_with("https://"))
    return "--auth-url: https is not supported; reach the application over a private network";
  if (!rest.starts_with("http://")) return usage;
  rest.remove_prefix(7);
  const std::size_t slash = std::min(rest.find('/'), rest.size());
  const std::string_view authority = rest.substr(0, slash);
  const std::string_view path = rest.substr(slash);
  std::string_view host = authority;
  std::string_view port;  // Empty, or ":" and the digits.
  const bool bracketed = authority.starts_with('[');
  if (bracketed) {  // An IPv6 address: [::1]:9000.
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return usage;
    host = authority.substr(1, close - 1);
    port = authority.substr(close + 1);
    if (!port.empty() && !port.starts_with(':')) return usage;
  } else if (const std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon);
  }
  if (host.empty() ||
      !std::all_of(host.begin(), host.end(), [&](char c) { return IsHostChar(c, bracketed); }))
    return usage;
  int port_number = 80;
  if (!port.empty()) {
    port.remove_prefix(1);
    const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), port_number);
    if (error != std::errc() || end != port.data() + port.size() || port_number < 1 ||
        port_number > 65535)
      return usage;
  }
  // Spaces, control characters and fragments have no place in a request target.
  if (!std::all_of(path.begin(), path.end(), [](char c) { return c > ' ' && c < 127 && c != '#'; }))
    return usage;
  o.auth_host = std::string(host);
  o.auth_port = port_number;
  o.auth_path = path.empty() ? "/" : std::string(path);
  return {};
}

// --store memory, or --store redis://... split into o.redis. Returns what is wrong, if anything.
std::string ParseStore(Options& o) {
  if (o.store == "memory") return {};
  if (!o.store.starts_with("redis://")) {
    return "--store must be memory or redis://[:password@]host:port[/db], not '" + o.store + "'";
  }
  // The URL is not repeated: it may hold a password.
  if (std::string why = ParseRedisUrl(o.store, &o.redis); !why.empty()) {
    return "--store: malformed Redis URL: " + why;
  }
  if (std::string why = CheckRedisPrefix(o.redis_prefix); !why.empty()) {
    return "--redis-prefix: " + why;
  }
  return {};
}

// The signed tokens' and the hook's options, and how they combine with the shared tokens.
std::string CheckAuthorization(const Options& o) {
  const bool jwt = !o.jwt_secret.empty() || !o.jwt_public_key.empty();
  const bool shared = !o.publish_token.empty() || !o.subscribe_token.empty();
  if (!o.jwt_secret.empty() && !o.jwt_public_key.empty())
    return "give a JWT secret or --jwt-public-key-file, not both";
  // RFC 7518 3.2: an HS256 key must be at least as long as the hash, 256 bits.
  if (!o.jwt_secret.empty() && o.jwt_secret.size() < 32)
    return "--jwt-secret must be at least 32 bytes (RFC 7518 asks 256 bits for HS256)";
  if (!jwt && (!o.jwt_audience.empty() || !o.jwt_cookie.empty()))
    return "--jwt-audience and --jwt-cookie need --jwt-secret, --jwt-secret-file or "
           "--jwt-public-key-file";
  if (!o.jwt_cookie.empty() && !IsCookieName(o.jwt_cookie))
    return "--jwt-cookie must be a cookie name (letters, digits and !#$%&'*+-.^_`|~)";
  // One way to decide who may do what at a time: with two, a Bearer header would mean two
  // different things.
  if (jwt && shared)
    return "signed tokens (--jwt-*) replace --publish-token and --subscribe-token: give one or "
           "the other";
  if (!o.auth_url.empty() && (jwt || shared))
    return "--auth-url replaces --jwt-* and the shared tokens: give one or the other";
  if (o.auth_timeout < 1 || o.auth_timeout > 60) return "--auth-timeout must be 1..60 seconds";
  if (o.auth_cache < 0 || o.auth_cache > 3600) return "--auth-cache must be 0..3600 seconds";
  return {};
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
  if (o.max_channels < 1) return "--max-channels must be >= 1";
  if (o.header_timeout < 1) return "--header-timeout must be >= 1";
  if (o.body_timeout < 1) return "--body-timeout must be >= 1";
  if (o.idempotency_window < 1) return "--idempotency-window must be >= 1";
  if (o.write_timeout < 1) return "--write-timeout must be >= 1";
  if (o.max_answer_bytes < 1) return "--max-answer-bytes must be >= 1";
  if (o.backlog_max_bytes < 1) return "--backlog-max-bytes must be >= 1";
  if (o.max_batch < 1 || o.max_batch > 100000) return "--max-batch must be 1..100000";
  if (o.event_loops < 1 || o.event_loops > 64) return "--event-loops must be 1..64";
  if (!IsAddressLiteral(o.bind)) {
    return "--bind must be an IPv4 or IPv6 address (e.g. 127.0.0.1, 0.0.0.0, ::), got '" + o.bind +
           "'";
  }
  if (!ParseLogLevel(o.log_level)) return "--log-level must be debug, info, warn or error";
  if (!ParseLogFormat(o.log_format)) return "--log-format must be text or json";
  return CheckAuthorization(o);
}

// Reads each *-file option into the value it stands for. Returns what went wrong, if anything.
std::string ReadSecretFiles(Options& o) {
  const struct {
    const std::string& file;
    std::string& value;
    const char* option;  // The option that gives the value itself, if there is one.
    const char* what;
  } files[] = {{o.publish_token_file, o.publish_token, "--publish-token", "a token"},
               {o.subscribe_token_file, o.subscribe_token, "--subscribe-token", "a token"},
               {o.admin_token_file, o.admin_token, "--admin-token", "a token"},
               {o.jwt_secret_file, o.jwt_secret, "--jwt-secret", "a secret"},
               {o.jwt_public_key_file, o.jwt_public_key, nullptr, "a public key"}};
  for (const auto& [file, value, option, what] : files) {
    if (file.empty()) continue;
    if (option && !value.empty())
      return "give " + std::string(option) + " or " + option + "-file, not both";
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    value = text.str();
    // Editors and `echo` end files with a newline that is no part of the value.
    while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back())))
      value.pop_back();
    if (!in || value.empty() || value.size() > kMaxSecretFileBytes)
      return "cannot read " + std::string(what) + " from '" + file + "'";
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
  if (std::string problem = ReadSecretFiles(result.options); !problem.empty()) {
    return {LoadResult::Outcome::kExitUsage, result.options, problem};
  }
  if (std::string problem = ParseAuthUrl(result.options); !problem.empty()) {
    return {LoadResult::Outcome::kExitUsage, result.options, problem};
  }
  if (std::string problem = ParseStore(result.options); !problem.empty()) {
    return {LoadResult::Outcome::kExitUsage, result.options, problem};
  }
  if (std::string problem = Check(result.options); !problem.empty()) {
    return {LoadResult::Outcome::kExitUsage, result.options, problem};
  }
  return result;
}

}  // namespace livefeed
