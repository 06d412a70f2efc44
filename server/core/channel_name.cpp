#include "core/channel_name.h"

namespace livefeed {

bool IsValidChannelName(std::string_view name) {
  if (name.empty() || name.size() > kMaxChannelNameLength) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.' || c == ':';
    if (!ok) return false;
  }
  return true;
}

}  // namespace livefeed
