#include "support/server_process.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace livefeed::testing {
namespace {

std::vector<char*> Argv(const std::string& binary, const std::vector<std::string>& args) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(binary.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  return argv;
}

// Reads one line from `fd` before `deadline`; empty if none came.
std::string ReadLine(int fd, std::chrono::steady_clock::time_point deadline) {
  std::string line;
  char c;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    if (::read(fd, &c, 1) != 1) break;
    if (c == '\n') return line;
    line += c;
  }
  return line;
}

std::optional<int> WaitForExit(pid_t pid, std::chrono::milliseconds timeout) {
  int status = 0;
  std::optional<int> code;
  WaitUntil(
      [&] {
        const pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return r == pid || r < 0;
      },
      timeout);
  return code;
}

}  // namespace

bool WaitUntil(const std::function<bool()>& predicate, std::chrono::milliseconds timeout,
               std::chrono::milliseconds interval) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!predicate()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(interval);
  }
  return true;
}

ServerProcess::ServerProcess(std::vector<std::string> args, std::string binary) {
  static int counter = 0;
  log_path_ =
      "/tmp/livefeed-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter) + ".log";
  // Defaults for tests, unless the test sets them itself (options may be given once). A
  // config file may set the log level itself (the command line would win over it).
  const bool has_config = std::find(args.begin(), args.end(), "--config") != args.end();
  for (const char* option : {"--port", "--log-level"}) {
    if (has_config && option == std::string("--log-level")) continue;
    if (std::find(args.begin(), args.end(), option) == args.end()) {
      args.insert(args.begin(), {option, option == std::string("--port") ? "0" : "warn"});
    }
  }
  int out[2];
  if (::pipe(out) != 0) throw std::runtime_error("pipe failed");
  const int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  std::vector<char*> argv = Argv(binary, args);
  pid_ = ::fork();
  if (pid_ == 0) {
    // It dies with the test: a test killed at its timeout leaves no server behind.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::close(out[0]);
    ::execv(binary.c_str(), argv.data());
    std::_Exit(127);
  }
  ::close(out[1]);
  ::close(log_fd);
  startup_line_ = ReadLine(out[0], std::chrono::steady_clock::now() + std::chrono::seconds(20));
  ::close(out[0]);
  std::smatch match;
  static const std::regex kListening("listening on http://[^ ]*:([0-9]+)");
  if (!std::regex_search(startup_line_, match, kListening)) {
    ::kill(pid_, SIGKILL);
    WaitForExit(pid_, std::chrono::seconds(5));
    pid_ = -1;
    throw std::runtime_error("livefeed did not start: '" + startup_line_ + "' log: " + Log());
  }
  port_ = std::stoi(match[1]);
}

ServerProcess::~ServerProcess() {
  // Every test ends with a clean shutdown: a crash, a hang or a sanitizer report (which
  // makes the exit code non-zero) fails the test that caused it.
  if (pid_ > 0) {
    const std::optional<int> code = Stop(SIGTERM, std::chrono::seconds(20));
    CHECK_MESSAGE(code == 0, "livefeed did not exit cleanly; its log:\n" << Log());
  }
  ::unlink(log_path_.c_str());
}

std::optional<int> ServerProcess::Stop(int signal, std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return std::nullopt;
  ::kill(pid_, signal);
  std::optional<int> code = WaitForExit(pid_, timeout);
  if (!code) {
    ::kill(pid_, SIGKILL);
    WaitForExit(pid_, std::chrono::seconds(5));
  }
  pid_ = -1;
  return code;
}

std::string ServerProcess::Log() const {
  std::ifstream file(log_path_);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

ExitResult RunToExit(const std::vector<std::string>& args, std::chrono::milliseconds timeout,
                     const std::vector<std::string>& env) {
  int out[2];
  if (::pipe(out) != 0) throw std::runtime_error("pipe failed");
  std::string binary = LIVEFEED_BINARY;
  std::vector<char*> argv = Argv(binary, args);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) env_strings.emplace_back(*e);
  env_strings.insert(env_strings.end(), env.begin(), env.end());
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(out[1], STDERR_FILENO);
    ::close(out[0]);
    ::execve(binary.c_str(), argv.data(), envp.data());
    std::_Exit(127);
  }
  ::close(out[1]);
  ExitResult result;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buffer[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{out[0], POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    const ssize_t n = ::read(out[0], buffer, sizeof buffer);
    if (n <= 0) break;
    result.output.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(out[0]);
  std::optional<int> code =
      WaitForExit(pid, std::chrono::milliseconds(std::max<long>(
                           100, std::chrono::duration_cast<std::chrono::milliseconds>(
                                    deadline - std::chrono::steady_clock::now())
                                    .count())));
  if (!code) {
    ::kill(pid, SIGKILL);
    WaitForExit(pid, std::chrono::seconds(5));
  }
  result.exit_code = code.value_or(-1);
  return result;
}

}  // namespace livefeed::testing
