// ASCII case folding for protocol tokens (header names, media types, auth schemes, hosts),
// which compare case-insensitively in ASCII only, whatever the locale, and the trimming of
// field values. Plain functions.
#pragma once

#include <array>
#include <string_view>

namespace livefeed {

inline constexpr std::array<char, 256> kAsciiLower = [] {
  std::array<char, 256> table{};
  for (int c = 0; c < 256; ++c) table[c] = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  return table;
}();

inline char AsciiLower(char c) { return kAsciiLower[static_cast<unsigned char>(c)]; }

inline bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

// Without the optional whitespace (spaces and tabs) around a part of an HTTP field value.
inline std::string_view TrimOws(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace livefeed
