// A real Prometheus (tests/support/prometheus_process.h) scraping the registry's exposition,
// served by a tiny HTTP server in this test: proof that the text format is read as meant
// (counters, labels, histogram buckets) and that the harness works, ready for a test of
// the server's own /metrics.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include "metrics/exposition.h"
#include "metrics/metrics.h"
#include "support/prometheus_process.h"

namespace livefeed::testing {
namespace {

using metrics::Registry;

// Answers every request on its connection with the registry's exposition, or 401 when a
// token is required and the request does not carry it; then closes the connection.
class ExpositionServer {
 public:
  ExpositionServer(const Registry& registry, std::string token = "")
      : registry_(registry), token_(std::move(token)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof addr;
    REQUIRE(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(listen_fd_, 16) == 0);
    REQUIRE(::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &length) == 0);
    port_ = ntohs(addr.sin_port);
    REQUIRE(::pipe(stop_) == 0);
    thread_ = std::thread([this] { Serve(); });
  }
  ~ExpositionServer() {
    [[maybe_unused]] ssize_t n = ::write(stop_[1], "x", 1);
    thread_.join();
    ::close(listen_fd_);
    ::close(stop_[0]);
    ::close(stop_[1]);
  }

  int port() const { return port_; }
  int scrapes() const { return scrapes_; }

 private:
  void Serve() {
    for (;;) {
      pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_[0], POLLIN, 0}};
      ::poll(fds, 2, -1);
      if (fds[1].revents) return;
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      Answer(fd, ReadHead(fd));
      ::close(fd);
    }
  }

  static std::string ReadHead(int fd) {
    std::string head;
    char buffer[4096];
    while (head.find("\r\n\r\n") == std::string::npos && head.size() < 65536) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 5000) <= 0) break;
      const ssize_t n = ::read(fd, buffer, sizeof buffer);
      if (n <= 0) break;
      head.append(buffer, static_cast<std::size_t>(n));
    }
    return head;
  }

  void Answer(int fd, const std::string& head) {
    const bool allowed = token_.empty() || head.find("\r\nAuthorization: Bearer " + token_ +
                                                     "\r\n") != std::string::npos;
    const std::string body = allowed ? registry_.Render() : "{\"error\": \"token required\"}\n";
    const std::string response =
        std::string(allowed ? "HTTP/1.1 200 OK\r\nContent-Type: "
                            : "HTTP/1.1 401 Unauthorized\r\nContent-Type: ") +
        std::string(allowed ? metrics::kExpositionContentType : "application/json") +
        "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
        body;
    [[maybe_unused]] ssize_t n = ::send(fd, response.data(), response.size(), MSG_NOSIGNAL);
    if (allowed) ++scrapes_;
  }

  const Registry& registry_;
  const std::string token_;
  int listen_fd_ = -1;
  int port_ = 0;
  int stop_[2] = {-1, -1};
  std::atomic<int> scrapes_{0};
  std::thread thread_;
};

std::string Target(int port) { return "127.0.0.1:" + std::to_string(port); }

bool Is(double expected, double value) { return value == expected; }

TEST_CASE("a real Prometheus scrapes the exposition and sees a counter rise") {
  Registry registry;
  registry.SetSources({.connections_open = [] { return std::uint64_t{3}; }});
  ExpositionServer server(registry);
  PrometheusProcess prometheus({.targets = {Target(server.port())}});

  REQUIRE_MESSAGE(
      prometheus.WaitForValue("up{job=\"livefeed\"}", [](double v) { return Is(1, v); }),
      "targets: " << prometheus.ActiveTargets().dump() << "\nlog: " << prometheus.Log());
  CHECK(prometheus.QueryValue("livefeed_items_published_total") == 0);
  CHECK(prometheus.QueryValue("livefeed_connections_open") == 3);

  registry.items_published.Add(5);
  CHECK(
      prometheus.WaitForValue("livefeed_items_published_total", [](double v) { return Is(5, v); }));
  registry.items_published.Add(2);
  CHECK(
      prometheus.WaitForValue("livefeed_items_published_total", [](double v) { return Is(7, v); }));

  const nlohmann::json targets = prometheus.ActiveTargets();
  REQUIRE(targets.size() == 1);
  CHECK(targets[0]["health"] == "up");
  CHECK(targets[0]["lastError"] == "");
  CHECK(server.scrapes() >= 3);
}

TEST_CASE("Prometheus reads the histograms' buckets, labels and process metrics as written") {
  Registry registry;
  for (int i = 0; i < 100; ++i) {
    registry.delivery_latency[metrics::Transport::kSse].Observe(i < 90 ? 0.003 : 0.2);
  }
  registry.items_delivered[metrics::Transport::kLongPoll].Add(4);
  ExpositionServer server(registry);
  PrometheusProcess prometheus({.targets = {Target(server.port())}});

  const auto median = prometheus.WaitForValue(
      "histogram_quantile(0.5, sum by (le) (livefeed_delivery_latency_seconds_bucket))",
      [](double) { return true; });
  REQUIRE_MESSAGE(median, "log: " << prometheus.Log());
  // Interpolated inside the bucket where the rank falls: (0.0025, 0.005] holds 90 of the
  // 100 values, (0.1, 0.25] the other 10. tests/web/metrics.test.mjs expects the dashboard's
  // quantile() to give these same numbers.
  CHECK(*median == doctest::Approx(0.0025 + 0.0025 * 50 / 90));
  const auto p99 = prometheus.QueryValue(
      "histogram_quantile(0.99, sum by (le) (livefeed_delivery_latency_seconds_bucket))");
  REQUIRE(p99);
  CHECK(*p99 == doctest::Approx(0.235));
  CHECK(prometheus.QueryValue("livefeed_delivery_latency_seconds_count{transport=\"sse\"}") == 100);
  CHECK(prometheus.QueryValue("sum(livefeed_items_delivered_total)") == 4);
  CHECK(prometheus.QueryValue("process_open_fds").value_or(0) > 0);
  CHECK(prometheus.QueryValue("count(livefeed_build_info)") == 1);
}

TEST_CASE("with a bearer token the scrape carries it, and a protected endpoint is scraped") {
  Registry registry;
  registry.items_published.Add(1);
  ExpositionServer server(registry, "s3cret");
  PrometheusProcess prometheus({.targets = {Target(server.port())}, .bearer_token = "s3cret"});
  CHECK_MESSAGE(
      prometheus.WaitForValue("livefeed_items_published_total", [](double v) { return Is(1, v); }),
      "targets: " << prometheus.ActiveTargets().dump());
  CHECK(prometheus.QueryValue("up{job=\"livefeed\"}") == 1);
}

}  // namespace
}  // namespace livefeed::testing
