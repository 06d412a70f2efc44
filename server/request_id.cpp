#include "request_id.h"

#include <algorithm>
#include <cstdint>
#include <random>

namespace livefeed {

void ChooseRequestId(std::string_view incoming, std::string& id) {
  const bool sane = !incoming.empty() && incoming.size() <= kMaxRequestIdLength &&
                    std::all_of(incoming.begin(), incoming.end(), [](char c) {
                      return c > 0x20 && c < 0x7f;  // Visible ASCII.
                    });
  if (sane) {
    id.assign(incoming);
  } else {
    NewRequestId(id);
  }
}

void NewRequestId(std::string& id) {
  // One generator per thread: no lock per request. Ids need to be unique, not secret.
  thread_local std::mt19937_64 random([] {
    std::random_device seed;
    return (std::uint64_t{seed()} << 32) ^ seed();
  }());
  static constexpr char kHex[] = "0123456789abcdef";
  id.assign(32, '0');
  for (std::size_t half = 0; half < 2; ++half) {
    std::uint64_t bits = random();
    for (std::size_t i = 0; i < 16; ++i, bits >>= 4) id[half * 16 + i] = kHex[bits & 15];
  }
}

}  // namespace livefeed
