// Decoding of application/x-www-form-urlencoded text (HTML form bodies and URL queries).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace livefeed {

using FormFields = std::vector<std::pair<std::string, std::string>>;

// "a=1&b=x+y%21" → {{"a","1"},{"b","x y!"}}, in order. Returns nullopt on a malformed
// percent-escape or when a decoded name or value is not valid UTF-8.
std::optional<FormFields> DecodeForm(std::string_view body);

bool IsValidUtf8(std::string_view text);

}  // namespace livefeed
