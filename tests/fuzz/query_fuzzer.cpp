// libFuzzer target: the query parser (form decoding, then subscription parameters), as a
// subscriber's query string reaches it. Any input must be parsed or refused with a 400
// JSON error; an accepted subscription only holds valid, distinct channels.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "core/channel_name.h"
#include "transport/form_decoding.h"
#include "transport/subscription.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view query(reinterpret_cast<const char*>(data), size);
  std::optional<livefeed::FormFields> fields = livefeed::DecodeForm(query);
  if (!fields) return 0;
  livefeed::QueryParams params(fields->begin(), fields->end());
  livefeed::ParsedSubscription parsed = livefeed::ParseSubscription(
      params, {.max_timeout_seconds = 25, .extra_parameters = {"typed", "token"}});
  if (parsed.subscription) {
    const auto& channels = parsed.subscription->channels;
    if (channels.empty() || channels.size() > livefeed::kMaxChannelsPerRequest) __builtin_trap();
    for (const auto& c : channels) {
      if (!livefeed::IsValidChannelName(c) || std::count(channels.begin(), channels.end(), c) != 1)
        __builtin_trap();
    }
  } else if (parsed.error.status != 400 || !nlohmann::json::accept(parsed.error.body)) {
    __builtin_trap();
  }
  return 0;
}
