// Where a Redis server is and how to log in to it, read from the --store URL
//   redis://[[user]:password@]host[:port][/db]
// A plain function with no I/O, so main can refuse a malformed URL (exit 2) before anything
// starts, and tests can cover every form.
#pragma once

#include <string>
#include <string_view>

namespace livefeed {

struct RedisEndpoint {
  std::string host;  // A name or an address; an IPv6 address without its brackets.
  int port = 6379;
  std::string user;      // Empty: AUTH with the password alone (Redis before ACLs).
  std::string password;  // Empty: no AUTH.
  int db = 0;            // SELECTed on every connection.
};

// Fills `out` from `url`; returns an empty string, or what is wrong with the URL (for the
// message main prints before exiting with code 2). The password may be percent-encoded.
std::string ParseRedisUrl(std::string_view url, RedisEndpoint* out);

// What is wrong with a --redis-prefix (it starts every key and the announcement channel),
// or an empty string.
std::string CheckRedisPrefix(std::string_view prefix);

// host:port/db for log lines: never the password.
std::string DescribeEndpoint(const RedisEndpoint& endpoint);

}  // namespace livefeed
