// What the bench reads about the server process from /proc: resident memory, threads and
// CPU time. Linux only; a missing process reads as zeros.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace livefeed::bench {

struct ProcessSample {
  long rss_kib = 0;
  long threads = 0;
  double cpu_seconds = 0;  // utime + stime.
};

inline ProcessSample SampleProcess(pid_t pid) {
  ProcessSample sample;
  if (pid <= 0) return sample;
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) sample.rss_kib = std::stol(line.substr(6));
    if (line.rfind("Threads:", 0) == 0) sample.threads = std::stol(line.substr(8));
  }
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // The command name may hold spaces: fields are counted after its closing parenthesis.
  const std::size_t paren = text.rfind(')');
  if (paren == std::string::npos) return sample;
  std::istringstream fields(text.substr(paren + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 0; fields >> field; ++i) {
    if (i == 11) utime = std::stod(field);  // Field 14 of stat(5).
    if (i == 12) {                          // Field 15.
      stime = std::stod(field);
      break;
    }
  }
  sample.cpu_seconds = (utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
  return sample;
}

}  // namespace livefeed::bench
