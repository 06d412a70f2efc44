// An experiment, not part of the server: LD_PRELOAD this into livefeed to give the process a
// large private futex hash before main() runs (scripts/bench --futex-slots N does so).
//
// Why: since Linux 6.16 a threaded process gets a private futex hash sized from the number
// of online CPUs, not of threads: 16 buckets on a 2-core machine. With one thread (and one
// condition variable) per held client, 10,000 waiters share 16 hash chains and every
// futex wake walks ~600 entries; perf shows futex_wake as the top symbol during fan-out.
// PR_FUTEX_HASH_SET_SLOTS with a power of two (0: the global hash) lifts that.
#include <sys/prctl.h>

#include <cstdio>
#include <cstdlib>

namespace {
constexpr int kPrFutexHash = 78;  // PR_FUTEX_HASH (Linux 6.16+), absent from older headers.
constexpr int kSetSlots = 1;      // PR_FUTEX_HASH_SET_SLOTS
constexpr int kGetSlots = 2;      // PR_FUTEX_HASH_GET_SLOTS

__attribute__((constructor)) void SetFutexSlots() {
  const char* text = std::getenv("LIVEFEED_FUTEX_SLOTS");
  const long slots = text ? std::strtol(text, nullptr, 10) : 16384;
  const int rc = ::prctl(kPrFutexHash, kSetSlots, slots, 0, 0);
  std::fprintf(stderr, "futex_slots_preload: %ld slots requested: %s (now %d)\n", slots,
               rc == 0 ? "ok" : "refused", ::prctl(kPrFutexHash, kGetSlots, 0, 0, 0));
}
}  // namespace
