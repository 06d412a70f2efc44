// Process metrics read from /proc: they describe this very test process, so they are
// checked against what the test does to it (a file opened, a thread started).
#include "metrics/process_metrics.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <thread>

namespace livefeed::metrics {
namespace {

TEST_CASE("an opened file adds one open descriptor, the limit is the soft RLIMIT_NOFILE") {
  const std::uint64_t before = ReadProcessSample().open_fds.value();
  const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  CHECK(ReadProcessSample().open_fds == before + 1);
  ::close(fd);
  CHECK(ReadProcessSample().open_fds == before);
  rlimit limit{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &limit) == 0);
  CHECK(ReadProcessSample().max_fds == limit.rlim_cur);
}

TEST_CASE("a started thread is counted while it runs") {
  // ThreadSanitizer's runtime starts a thread of its own with the process's second one:
  // started and joined first, so that the count below moves by this test's thread alone.
  std::thread([] {}).join();
  const std::uint64_t before = ReadProcessSample().threads.value();
  std::promise<void> release;
  std::thread thread([done = release.get_future()]() mutable { done.wait(); });
  CHECK(ReadProcessSample().threads == before + 1);
  release.set_value();
  thread.join();
}

TEST_CASE("memory, CPU time and start time are plausible for this process") {
  const ProcessSample sample = ReadProcessSample();
  CHECK(sample.resident_bytes.value() > 0);
  CHECK(sample.virtual_bytes.value() >= sample.resident_bytes.value());
  CHECK(sample.cpu_seconds.value() >= 0);
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  // Started before now (ticks are 10 ms, boot time whole seconds) and after 2020.
  CHECK(sample.start_time_seconds.value() <= now + 1);
  CHECK(sample.start_time_seconds.value() > 1.577e9);
}

}  // namespace
}  // namespace livefeed::metrics
