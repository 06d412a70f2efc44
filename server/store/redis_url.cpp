#include "store/redis_url.h"

#include <charconv>

namespace livefeed {
namespace {

constexpr std::string_view kScheme = "redis://";

// A decimal number in [min, max], nothing else.
bool ParseNumber(std::string_view text, int min, int max, int* out) {
  if (text.empty() || text.size() > 10) return false;
  int value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return false;
  if (value < min || value > max) return false;
  *out = value;
  return true;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes `text` into `out`; false on a broken escape.
bool PercentDecode(std::string_view text, std::string* out) {
  out->clear();
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      *out += text[i];
      continue;
    }
    const int high = i + 1 < text.size() ? HexDigit(text[i + 1]) : -1;
    const int low = i + 2 < text.size() ? HexDigit(text[i + 2]) : -1;
    if (high < 0 || low < 0) return false;
    *out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return true;
}

bool IsHostChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_';
}

// host[:port] or [v6]:port.
std::string ParseHostPort(std::string_view text, RedisEndpoint* out) {
  std::string_view port;
  bool has_port = false;
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) return "an IPv6 address must end with ']'";
    out->host = std::string(text.substr(1, close - 1));
    const std::string_view rest = text.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return "unexpected text after the IPv6 address";
    has_port = !rest.empty();
    if (has_port) port = rest.substr(1);
    if (out->host.empty()) return "the IPv6 address is empty";
    for (char c : out->host) {
      if (HexDigit(c) < 0 && c != ':' && c != '.') return "invalid IPv6 address";
    }
  } else {
    const std::size_t colon = text.rfind(':');
    out->host = std::string(text.substr(0, colon));
    has_port = colon != std::string_view::npos;
    if (has_port) port = text.substr(colon + 1);
    if (out->host.empty()) return "the host is missing";
    for (char c : out->host) {
      if (!IsHostChar(c)) return "invalid character in the host";
    }
  }
  out->port = 6379;
  if (has_port && !ParseNumber(port, 1, 65535, &out->port)) {
    return "the port must be a number from 1 to 65535";
  }
  return "";
}

}  // namespace

std::string ParseRedisUrl(std::string_view url, RedisEndpoint* out) {
  RedisEndpoint endpoint;
  if (url.substr(0, kScheme.size()) != kScheme) return "it must start with redis://";
  std::string_view rest = url.substr(kScheme.size());
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return "query strings and fragments are not supported";
  }
  // userinfo: the last '@' ends it, so a password may contain '@' only percent-encoded.
  const std::size_t at = rest.rfind('@');
  if (at != std::string_view::npos) {
    const std::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    const std::size_t colon = userinfo.find(':');
    if (colon == std::string_view::npos)
      return "the password must follow a ':' (redis://:password@host)";
    if (!PercentDecode(userinfo.substr(0, colon), &endpoint.user) ||
        !PercentDecode(userinfo.substr(colon + 1), &endpoint.password)) {
      return "broken percent-encoding in the user or password";
    }
    if (endpoint.password.empty()) return "the password is empty";
  }
  std::string_view host_port = rest;
  const std::size_t slash = rest.find('/');
  if (slash != std::string_view::npos) {
    host_port = rest.substr(0, slash);
    const std::string_view db = rest.substr(slash + 1);
    // An empty path ("host:port/") means database 0.
    if (!db.empty() && !ParseNumber(db, 0, 1'000'000, &endpoint.db)) {
      return "the database must be a number (redis://host:port/2)";
    }
  }
  if (host_port.empty()) return "the host is missing";
  if (std::string why = ParseHostPort(host_port, &endpoint); !why.empty()) return why;
  *out = std::move(endpoint);
  return "";
}

std::string CheckRedisPrefix(std::string_view prefix) {
  if (prefix.size() > 64) return "the Redis prefix is longer than 64 characters";
  for (char c : prefix) {
    // Printable and without spaces: it is part of every key and of a pub/sub channel name.
    if (c <= ' ' || c > '~') return "the Redis prefix must be printable ASCII without spaces";
  }
  return "";
}

std::string DescribeEndpoint(const RedisEndpoint& endpoint) {
  const bool v6 = endpoint.host.find(':') != std::string::npos;
  std::string text = v6 ? "[" + endpoint.host + "]" : endpoint.host;
  text += ":" + std::to_string(endpoint.port);
  if (endpoint.db != 0) text += "/" + std::to_string(endpoint.db);
  return text;
}

}  // namespace livefeed
