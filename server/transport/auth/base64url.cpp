#include "transport/auth/base64url.h"

#include <cstdint>

namespace livefeed {
namespace {

// The 6-bit value of a base64url character, or -1.
int SextetOf(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

}  // namespace

std::optional<std::string> DecodeBase64Url(std::string_view text) {
  // Four characters carry three bytes; a lone trailing character carries none.
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3 + 2);
  std::uint32_t bits = 0;
  int pending = 0;  // Bits in `bits` not yet written out.
  for (char c : text) {
    const int sextet = SextetOf(c);
    if (sextet < 0) return std::nullopt;
    bits = (bits << 6) | static_cast<std::uint32_t>(sextet);
    pending += 6;
    if (pending >= 8) {
      pending -= 8;
      out.push_back(static_cast<char>((bits >> pending) & 0xFF));
    }
  }
  if ((bits & ((1u << pending) - 1)) != 0) return std::nullopt;
  return out;
}

}  // namespace livefeed
