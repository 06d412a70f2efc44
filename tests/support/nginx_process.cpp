#include "support/nginx_process.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace livefeed::testing {
namespace {

const std::string kScript = std::string(LIVEFEED_SOURCE_DIR) + "/scripts/nginx";

// Runs scripts/nginx with `args`; returns its exit code and what it printed.
std::pair<int, std::string> RunScript(const std::vector<std::string>& args) {
  int out[2];
  if (::pipe(out) != 0) throw std::runtime_error("pipe failed");
  std::vector<char*> argv{const_cast<char*>(kScript.c_str())};
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(out[1], STDERR_FILENO);
    ::close(out[0]);
    ::execv(kScript.c_str(), argv.data());
    std::_Exit(127);
  }
  ::close(out[1]);
  std::string output;
  char buffer[4096];
  // Read until the script has exited rather than until EOF: nginx inherits the pipe and
  // lets go of it only once it has daemonized.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  int status = 0;
  bool exited = false;
  while (!exited && std::chrono::steady_clock::now() < deadline) {
    pollfd p{out[0], POLLIN, 0};
    if (::poll(&p, 1, 50) > 0) {
      const ssize_t n = ::read(out[0], buffer, sizeof buffer);
      if (n > 0) output.append(buffer, static_cast<std::size_t>(n));
    }
    exited = ::waitpid(pid, &status, WNOHANG) == pid;
  }
  for (;;) {  // What is left in the pipe.
    pollfd p{out[0], POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) break;
    const ssize_t n = ::read(out[0], buffer, sizeof buffer);
    if (n <= 0) break;
    output.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(out[0]);
  if (!exited) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    return {-1, output + "\n(scripts/nginx did not finish in 30 s)"};
  }
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), output};
}

std::string ReadFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

}  // namespace

NginxProcess::NginxProcess(const std::vector<int>& upstream_ports, const std::string& balance) {
  char pattern[] = "/tmp/livefeed-nginx-XXXXXX";
  if (!::mkdtemp(pattern)) throw std::runtime_error("mkdtemp failed");
  prefix_ = pattern;
  std::string upstreams;
  for (int port : upstream_ports) {
    if (!upstreams.empty()) upstreams += ',';
    upstreams += "127.0.0.1:";
    upstreams += std::to_string(port);
  }
  std::string output;
  for (int attempt = 0; attempt < 5; ++attempt) {
    port_ = FreeLoopbackPort();
    auto [code, text] =
        RunScript({"start", "--prefix", prefix_, "--listen", "127.0.0.1:" + std::to_string(port_),
                   "--upstream", upstreams, "--balance", balance});
    if (code == 0) return;
    output = text + ErrorLog();
    // Someone took the port between our check and nginx's bind: try another.
    if (output.find("Address already in use") == std::string::npos) break;
  }
  std::filesystem::remove_all(prefix_);
  throw std::runtime_error("nginx did not start: " + output);
}

NginxProcess::~NginxProcess() {
  auto [code, output] = RunScript({"stop", "--prefix", prefix_});
  if (code != 0) {
    MESSAGE("scripts/nginx stop failed: " << output << "\nerror log:\n" << ErrorLog());
  } else {
    std::filesystem::remove_all(prefix_);
  }
}

std::string NginxProcess::ErrorLog() const { return ReadFile(prefix_ + "/logs/error.log"); }
std::string NginxProcess::AccessLog() const { return ReadFile(prefix_ + "/logs/access.log"); }

std::unique_ptr<HttpConnection> ConnectFrom(const std::string& source, int port) {
  // HttpConnection always connects from the default source address (127.0.0.1 on
  // loopback). Open one, then put a socket bound to `source` in place of its descriptor.
  auto connection = std::make_unique<HttpConnection>(port);
  if (!connection->connected()) return nullptr;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  ::inet_pton(AF_INET, source.c_str(), &local.sin_addr);
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(static_cast<uint16_t>(port));
  remote.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0) {
    ::close(fd);
    return nullptr;
  }
  int yes = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
  ::dup3(fd, connection->fd(), O_CLOEXEC);
  ::close(fd);
  return connection;
}

}  // namespace livefeed::testing
