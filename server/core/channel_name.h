// What a channel may be called. Names travel in URLs, log lines and Redis keys, so they are
// kept to a charset that needs no escaping anywhere.
#pragma once

#include <cstddef>
#include <string_view>

namespace livefeed {

inline constexpr std::size_t kMaxChannelNameLength = 64;
inline constexpr std::string_view kDefaultChannel = "default";
inline constexpr char kChannelCharsetDescription[] = "1-64 characters from A-Z a-z 0-9 _ - . :";

bool IsValidChannelName(std::string_view name);

}  // namespace livefeed
