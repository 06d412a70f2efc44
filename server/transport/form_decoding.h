// Decoding of application/x-www-form-urlencoded text (HTML form bodies and URL queries).
#pragma once

#include <functional>
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

// The same, field by field: calls `field(name, value)` for each, in order, so that they go
// straight where they are kept. False when DecodeForm would give nullopt (the fields
// before the bad one have been passed on by then).
bool ForEachFormField(std::string_view body,
                      const std::function<void(std::string&&, std::string&&)>& field);

bool IsValidUtf8(std::string_view text);

}  // namespace livefeed
