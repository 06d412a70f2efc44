#include "support/prometheus_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "support/http_client.h"
#include "support/server_process.h"

namespace livefeed::testing {
namespace {

constexpr auto kStartDeadline = std::chrono::seconds(30);
// Between two questions to Prometheus: often enough to see a 1 s scrape, rarely enough to
// leave the machine to the processes under test.
constexpr auto kPollInterval = std::chrono::milliseconds(100);

// A query string value: everything but unreserved characters percent-encoded.
std::string UrlEncode(const std::string& text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// Scrapes every second, so that a test sees a change within a few seconds. The token is
// JSON-quoted, which YAML reads as a double-quoted string.
void WriteConfig(const std::string& path, const PrometheusProcess::Options& options) {
  std::ofstream config(path);
  config << "global: { scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s }\n"
         << "scrape_configs:\n"
         << "  - job_name: livefeed\n"
         << "    metrics_path: " << nlohmann::json(options.metrics_path).dump() << "\n";
  if (!options.bearer_token.empty()) {
    config << "    authorization: { type: Bearer, credentials: "
           << nlohmann::json(options.bearer_token).dump() << " }\n";
  }
  config << "    static_configs: [ { targets: " << nlohmann::json(options.targets).dump()
         << " } ]\n";
}

bool Exited(pid_t pid) {
  int status = 0;
  return ::waitpid(pid, &status, WNOHANG) == pid;
}

}  // namespace

PrometheusProcess::PrometheusProcess(const Options& options) {
  // In $TMPDIR (or /tmp): the data directory is small and gone when the test ends.
  std::string pattern =
      (std::filesystem::temp_directory_path() / "livefeed-prometheus-XXXXXX").string();
  if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  dir_ = pattern;
  WriteConfig(dir_ + "/prometheus.yml", options);
  const char* binary = std::getenv("LIVEFEED_PROMETHEUS_BINARY");
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (Start(binary && *binary ? binary : "prometheus")) return;
    // Someone took the port between our check and Prometheus's bind: try another.
    if (Log().find("address already in use") == std::string::npos) break;
  }
  const std::string log = Log();
  std::filesystem::remove_all(dir_);
  throw std::runtime_error("prometheus did not start (scripts/setup --all installs it): " + log);
}

PrometheusProcess::~PrometheusProcess() {
  Stop();
  std::filesystem::remove_all(dir_);
}

// Starts Prometheus on a fresh free port and waits for /-/ready; false (and no process
// left) if it exits or is not ready in time.
bool PrometheusProcess::Start(const std::string& binary) {
  Stop();
  port_ = FreeLoopbackPort();
  const std::vector<std::string> args = {
      binary,
      "--config.file=" + dir_ + "/prometheus.yml",
      "--storage.tsdb.path=" + dir_ + "/data",
      "--web.listen-address=127.0.0.1:" + std::to_string(port_),
      "--log.level=warn",
  };
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const int log_fd =
      ::open((dir_ + "/prometheus.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::execvp(argv[0], argv.data());
    std::_Exit(127);
  }
  ::close(log_fd);
  bool exited = false;
  const bool ready = WaitUntil(
      [&] {
        if (Exited(pid_)) return exited = true;
        return Get(port_, "/-/ready", std::chrono::seconds(2)).status == 200;
      },
      kStartDeadline, kPollInterval);
  if (exited) pid_ = -1;
  if (ready && !exited) return true;
  Stop();
  return false;
}

void PrometheusProcess::Stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  if (!WaitUntil([&] { return Exited(pid_); }, std::chrono::seconds(20), kPollInterval)) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  pid_ = -1;
}

nlohmann::json PrometheusProcess::Query(const std::string& promql) const {
  const HttpResponse response = Get(port_, "/api/v1/query?query=" + UrlEncode(promql));
  const nlohmann::json answer = response.Json();
  if (response.status != 200 || !answer.is_object() || answer.value("status", "") != "success")
    return nullptr;
  return answer["data"]["result"];
}

std::optional<double> PrometheusProcess::QueryValue(const std::string& promql) const {
  const nlohmann::json result = Query(promql);
  // A vector's sample is {"metric": {...}, "value": [time, "text"]}; a scalar is [time, "text"].
  const nlohmann::json* value = nullptr;
  if (result.is_array() && !result.empty() && result[0].is_object()) {
    value = &result[0]["value"];
  } else if (result.is_array() && result.size() == 2 && result[1].is_string()) {
    value = &result;
  }
  if (!value || !value->is_array() || value->size() != 2 || !(*value)[1].is_string())
    return std::nullopt;
  return std::stod((*value)[1].get<std::string>());
}

std::optional<double> PrometheusProcess::WaitForValue(const std::string& promql,
                                                      const std::function<bool(double)>& accept,
                                                      std::chrono::milliseconds timeout) const {
  std::optional<double> last;
  WaitUntil(
      [&] {
        last = QueryValue(promql);
        return last && accept(*last);
      },
      timeout, kPollInterval);
  return last && accept(*last) ? last : std::nullopt;
}

nlohmann::json PrometheusProcess::ActiveTargets() const {
  const nlohmann::json answer = Get(port_, "/api/v1/targets").Json();
  if (!answer.is_object() || !answer.contains("data")) return nullptr;
  return answer["data"]["activeTargets"];
}

std::string PrometheusProcess::Log() const {
  std::ifstream file(dir_ + "/prometheus.log");
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

}  // namespace livefeed::testing
