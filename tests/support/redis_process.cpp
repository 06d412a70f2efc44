#include "support/redis_process.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <thread>

namespace livefeed::testing {
namespace {

bool Accepts(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

RedisProcess::RedisProcess(bool aof, int port) : aof_(aof), port_(port) {
  std::string pattern = (std::filesystem::temp_directory_path() / "livefeed-redis-XXXXXX").string();
  if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  dir_ = pattern;
  if (port_ == 0) port_ = FreeLoopbackPort();
  Start();
}

RedisProcess::~RedisProcess() {
  Kill();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

void RedisProcess::Start() {
  if (pid_ > 0) return;
  std::vector<std::string> args{
      "redis-server", "--bind",    "127.0.0.1",        "--port", std::to_string(port_),
      "--dir",        dir_,        "--save",           "",       "--daemonize",
      "no",           "--logfile", dir_ + "/redis.log"};
  if (aof_) {
    args.insert(args.end(), {"--appendonly", "yes", "--appendfsync", "always"});
  } else {
    args.insert(args.end(), {"--appendonly", "no"});
  }
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ == 0) {
    // It dies with the test: a test killed at its timeout leaves no server behind.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::execvp("redis-server", argv.data());
    std::_Exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!Accepts(port_)) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_ || std::chrono::steady_clock::now() > deadline) {
      Kill();
      throw std::runtime_error("redis-server did not start on port " + std::to_string(port_));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // Started but maybe still loading the append-only file: PING answers only after.
  while (Cli({"PING"}) != "PONG") {
    if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("redis not ready");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void RedisProcess::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::kill(pid_, SIGCONT);  // A paused process dies only once it runs again.
  WaitForExit();
}

void RedisProcess::Stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  WaitForExit();
}

void RedisProcess::Pause() {
  if (pid_ > 0) ::kill(pid_, SIGSTOP);
}

void RedisProcess::Resume() {
  if (pid_ > 0) ::kill(pid_, SIGCONT);
}

void RedisProcess::WaitForExit() {
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string RedisProcess::Cli(const std::vector<std::string>& args) const {
  std::string command = "redis-cli -h 127.0.0.1 -p " + std::to_string(port_);
  for (const std::string& arg : args) command += " '" + arg + "'";
  command += " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) throw std::runtime_error("popen failed");
  std::string out;
  char buffer[4096];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  ::pclose(pipe);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

}  // namespace livefeed::testing
