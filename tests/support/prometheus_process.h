// Runs a real Prometheus (Debian's `prometheus` package) for a test: on a free loopback
// port, with its config and its storage in a private temporary directory, scraping the
// given targets every second. Query() asks its HTTP API. The destructor stops that process
// (SIGTERM to its pid, SIGKILL if it lingers) and removes the directory.
// Not safe for concurrent use.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace livefeed::testing {

class PrometheusProcess {
 public:
  struct Options {
    std::vector<std::string> targets = {};  // "127.0.0.1:PORT", scraped as job "livefeed".
    std::string metrics_path = "/metrics";
    std::string bearer_token = {};  // Sent as Authorization: Bearer when not empty.
  };
  // Throws if Prometheus is missing or not ready within 30 s. The binary is
  // $LIVEFEED_PROMETHEUS_BINARY, else `prometheus` on the PATH.
  explicit PrometheusProcess(const Options& options);
  ~PrometheusProcess();

  PrometheusProcess(const PrometheusProcess&) = delete;
  PrometheusProcess& operator=(const PrometheusProcess&) = delete;

  int port() const { return port_; }

  // An instant query (GET /api/v1/query): the "data.result" array, or null when the
  // request or the query failed.
  nlohmann::json Query(const std::string& promql) const;
  // The value of the first sample `promql` returns; nullopt while it returns none.
  std::optional<double> QueryValue(const std::string& promql) const;
  // Queries until the value satisfies `accept` (first scrapes take a few seconds).
  std::optional<double> WaitForValue(
      const std::string& promql, const std::function<bool(double)>& accept,
      std::chrono::milliseconds timeout = std::chrono::seconds(30)) const;
  // GET /api/v1/targets: "data.activeTargets" (each with "health", "lastError", ...).
  nlohmann::json ActiveTargets() const;

  // What Prometheus logged (its stderr and stdout).
  std::string Log() const;

 private:
  bool Start(const std::string& binary);
  void Stop();

  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace livefeed::testing
