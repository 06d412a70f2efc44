// A private redis-server for a test: a free loopback port, a temporary directory, stopped
// by its pid (never a system service). It can be killed and started again on the same port
// and directory, with or without the append-only file.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "support/free_port.h"

namespace livefeed::testing {

class RedisProcess {
 public:
  // aof: --appendonly yes --appendfsync always, so every acknowledged write survives.
  // port 0: a free one.
  explicit RedisProcess(bool aof = false, int port = 0);
  ~RedisProcess();  // Kills it and removes its directory.
  RedisProcess(const RedisProcess&) = delete;
  RedisProcess& operator=(const RedisProcess&) = delete;

  int port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  bool running() const { return pid_ > 0; }

  // Starts it on the same port and directory; returns once it accepts connections.
  void Start();
  // SIGKILL: nothing flushed beyond what appendfsync always already wrote.
  void Kill();
  // SIGTERM: a clean shutdown.
  void Stop();
  // SIGSTOP / SIGCONT: connections stay open and nothing answers, as with a wedged server.
  void Pause();
  void Resume();

  // redis-cli against it: the command's output, trimmed.
  std::string Cli(const std::vector<std::string>& args) const;

 private:
  void WaitForExit();

  bool aof_;
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace livefeed::testing
