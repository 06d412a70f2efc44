#include "metrics/process_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace livefeed::metrics {
namespace {

// The fields of /proc/self/stat after the command name, which is in parentheses and may
// itself hold spaces and parentheses: fields[0] is field 3 (state) of proc(5).
std::vector<std::string> StatFields() {
  std::ifstream file("/proc/self/stat");
  std::string line;
  if (!std::getline(file, line)) return {};
  const std::size_t close = line.rfind(')');
  if (close == std::string::npos) return {};
  std::istringstream rest(line.substr(close + 1));
  std::vector<std::string> fields;
  for (std::string field; rest >> field;) fields.push_back(field);
  return fields;
}

// Field `number` of proc(5)'s numbering (1-based, pid first).
std::optional<std::uint64_t> StatField(const std::vector<std::string>& fields, std::size_t number) {
  if (number < 3 || number - 3 >= fields.size()) return std::nullopt;
  try {
    return std::stoull(fields[number - 3]);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// The kernel's boot time in seconds since the epoch (btime in /proc/stat).
std::optional<std::uint64_t> BootTime() {
  std::ifstream file("/proc/stat");
  for (std::string line; std::getline(file, line);) {
    if (line.rfind("btime ", 0) != 0) continue;
    try {
      return std::stoull(line.substr(6));
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

std::optional<std::uint64_t> CountOpenFds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) return std::nullopt;
  std::uint64_t count = 0;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  ::closedir(dir);
  return count > 0 ? count - 1 : 0;  // Not the directory stream's own descriptor.
}

}  // namespace

ProcessSample ReadProcessSample() {
  ProcessSample sample;
  const std::vector<std::string> fields = StatFields();
  const long ticks = ::sysconf(_SC_CLK_TCK);
  const long page = ::sysconf(_SC_PAGESIZE);
  // proc(5): 14 utime, 15 stime, 20 num_threads, 22 starttime (ticks after boot), 23 vsize
  // (bytes), 24 rss (pages).
  const auto utime = StatField(fields, 14), stime = StatField(fields, 15);
  if (utime && stime && ticks > 0) {
    sample.cpu_seconds = static_cast<double>(*utime + *stime) / static_cast<double>(ticks);
  }
  sample.threads = StatField(fields, 20);
  const auto start = StatField(fields, 22);
  const auto boot = BootTime();
  if (start && boot && ticks > 0) {
    sample.start_time_seconds =
        static_cast<double>(*boot) + static_cast<double>(*start) / static_cast<double>(ticks);
  }
  sample.virtual_bytes = StatField(fields, 23);
  if (const auto rss = StatField(fields, 24); rss && page > 0) {
    sample.resident_bytes = *rss * static_cast<std::uint64_t>(page);
  }
  sample.open_fds = CountOpenFds();
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    sample.max_fds = limit.rlim_cur;
  }
  return sample;
}

void WriteProcessMetrics(ExpositionWriter& writer, const ProcessSample& sample) {
  auto write = [&writer](const char* name, MetricType type, const char* help, const auto& value) {
    if (!value) return;
    writer.Family(name, type, help);
    writer.Sample(name, {}, *value);
  };
  write("process_cpu_seconds_total", MetricType::kCounter,
        "Total user and system CPU time spent in seconds.", sample.cpu_seconds);
  write("process_resident_memory_bytes", MetricType::kGauge, "Resident memory size in bytes.",
        sample.resident_bytes);
  write("process_virtual_memory_bytes", MetricType::kGauge, "Virtual memory size in bytes.",
        sample.virtual_bytes);
  write("process_open_fds", MetricType::kGauge, "Number of open file descriptors.",
        sample.open_fds);
  write("process_max_fds", MetricType::kGauge, "Maximum number of open file descriptors.",
        sample.max_fds);
  write("process_start_time_seconds", MetricType::kGauge,
        "Start time of the process since unix epoch in seconds.", sample.start_time_seconds);
  write("process_threads", MetricType::kGauge, "Number of OS threads in the process.",
        sample.threads);
}

}  // namespace livefeed::metrics
