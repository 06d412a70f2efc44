// Integers written as decimal text onto a string, without the temporary std::string (and,
// past 15 digits, the allocation) of std::to_string: ids and timestamps are written into
// every item and every answer. Plain functions.
#pragma once

#include <charconv>
#include <string>
#include <type_traits>

namespace livefeed {

template <typename Integer>
requires std::is_integral_v<Integer>
void AppendDecimal(std::string& out, Integer n) {
  char digits[24];  // Any 64-bit integer, with its sign.
  out.append(digits, std::to_chars(digits, digits + sizeof digits, n).ptr);
}

}  // namespace livefeed
