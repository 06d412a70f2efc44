#include "transport/subscription.h"

#include <algorithm>
#include <charconv>

#include "core/channel_name.h"
#include "core/id_clock.h"

namespace livefeed {
namespace {

ParsedSubscription Bad(std::string message) { return {std::nullopt, JsonError(400, message)}; }

// Returns an error message, or empty when the channel list was added.
std::string AddChannels(const std::string& list, std::vector<std::string>& channels) {
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = list.find(',', start);
    const std::string name =
        list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!IsValidChannelName(name)) {
      return "invalid channel name '" + name.substr(0, 80) + "': use " + kChannelCharsetDescription;
    }
    if (std::find(channels.begin(), channels.end(), name) == channels.end())
      channels.push_back(name);
    if (comma == std::string::npos) return {};
    start = comma + 1;
  }
}

}  // namespace

std::string SubscriberKey(char kind, std::uint64_t since,
                          const std::vector<std::string>& channels) {
  std::string key(1, kind);
  key += std::to_string(since);
  for (const std::string& channel : channels) {
    key += '|';
    key += channel;
  }
  return key;
}

std::optional<std::uint64_t> ParseCursor(const std::string& text) {
  if (text.empty() || text.size() > 16) return std::nullopt;
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value > kMaxId) return std::nullopt;
  return value;
}

ParsedSubscription ParseSubscription(const QueryParams& params, const SubscriptionLimits& limits) {
  Subscription sub;
  for (const auto& [name, value] : params) {
    const bool single = name == "since" || name == "timeout" || name == "typed" || name == "token";
    if (single && params.count(name) > 1)
      return Bad("parameter '" + name + "' given more than once");

    if (name == "channel") {
      std::string error = AddChannels(value, sub.channels);
      if (!error.empty()) return Bad(error);
    } else if (name == "since") {
      sub.since = ParseCursor(value);
      if (!sub.since) {
        return Bad("'since' must be a cursor: an integer from 0 to 9007199254740991, got '" +
                   value.substr(0, 40) + "'");
      }
    } else if (name == "timeout" && limits.max_timeout_seconds < 0) {
      return Bad("'timeout' does not apply to a stream");
    } else if (name == "timeout") {
      int seconds = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
      if (value.empty() || ec != std::errc() || end != value.data() + value.size() || seconds < 0 ||
          seconds > limits.max_timeout_seconds) {
        return Bad("'timeout' must be whole seconds from 0 to " +
                   std::to_string(limits.max_timeout_seconds) + ", got '" + value.substr(0, 40) +
                   "'");
      }
      sub.timeout_seconds = seconds;
    } else if (name == "typed" &&
               std::count(limits.extra_parameters.begin(), limits.extra_parameters.end(), name)) {
      if (value != "0" && value != "1") return Bad("'typed' must be 0 or 1");
      sub.typed_events = value == "1";
    } else if (name == "_" ||
               std::count(limits.extra_parameters.begin(), limits.extra_parameters.end(), name)) {
      // "_" is the cache-buster that some HTTP libraries append; other extras are the
      // endpoint's own and checked by it.
    } else {
      return Bad("unknown parameter '" + name.substr(0, 40) + "'");
    }
  }
  if (sub.channels.empty()) sub.channels.emplace_back(kDefaultChannel);
  if (sub.channels.size() > kMaxChannelsPerRequest) {
    return Bad("at most " + std::to_string(kMaxChannelsPerRequest) + " channels per request");
  }
  return {std::move(sub), {}};
}

}  // namespace livefeed
