// Runs the real livefeed binary for a test: on a free port (--port 0; the port is read from
// its startup line), stopped by signal, its exit code and log available to assertions.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "support/free_port.h"

namespace livefeed::testing {

// Polls `predicate` every `interval` until it holds or `timeout` passes; returns whether it
// held. A predicate that asks another process over HTTP wants a longer interval.
bool WaitUntil(const std::function<bool()>& predicate,
               std::chrono::milliseconds timeout = std::chrono::seconds(10),
               std::chrono::milliseconds interval = std::chrono::milliseconds(5));

class ServerProcess {
 public:
  // Starts `livefeed --port 0 --log-level warn <args>` (args may override both; with a
  // --config, the log level is the file's).
  explicit ServerProcess(std::vector<std::string> args = {}, std::string binary = LIVEFEED_BINARY);
  ~ServerProcess();  // Kills the process if still running.

  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& startup_line() const { return startup_line_; }

  // Sends `signal` and waits up to `timeout` for the exit; returns the exit code, or
  // nullopt if it did not exit in time (it is then killed).
  std::optional<int> Stop(int signal, std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // Everything the server wrote to stderr so far.
  std::string Log() const;

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string startup_line_;
  std::string log_path_;
};

// Runs the binary to completion (for --help, bad options): exit code and combined output.
struct ExitResult {
  int exit_code = -1;
  std::string output;
};
ExitResult RunToExit(const std::vector<std::string>& args, std::chrono::milliseconds timeout,
                     const std::vector<std::string>& env = {});

}  // namespace livefeed::testing
