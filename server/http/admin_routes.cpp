#include "http/admin_routes.h"

#include <charconv>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "core/channel_name.h"
#include "metrics/exposition.h"
#include "transport/access.h"
#include "transport/form_decoding.h"

namespace livefeed {
namespace {

using nlohmann::json;
using Counter = SubscriberCensus::Counter;

constexpr std::string_view kChannelsPath = "/channels";

std::optional<Reply> CheckAdmin(const LiveSettings& live, const RequestHead& head) {
  return CheckToken(live.admin_token,
                    std::string(head.Get(KnownField::kAuthorization).value_or("")),
                    /*query_token=*/"");
}

Reply Busy() {
  Reply busy = JsonError(503, "the server is busy, retry in a second");
  busy.headers.emplace_back("Retry-After", "1");
  return busy;
}

// The name just before `name` in the store's (byte) order, among names no longer than
// kMaxChannelNameLength: Store::Channels(Before(name), 1) starts at `name` if it is held.
std::string Before(const std::string& name) {
  std::string before = name;
  const auto last = static_cast<unsigned char>(before.back());
  before.pop_back();
  before += static_cast<char>(last - 1);
  before.append(kMaxChannelNameLength - before.size(), '\xff');
  return before;
}

json Describe(const ChannelStats& stats, std::size_t subscribers) {
  const bool held = stats.items > 0;
  return {{"channel", stats.channel},
          {"subscribers", subscribers},
          {"items", stats.items},
          {"head", held ? json(stats.head) : json(nullptr)},
          {"last_publish", held ? json(stats.last_publish_ms) : json(nullptr)}};
}

Reply JsonReply(const json& body) {
  Reply reply;
  reply.body = body.dump();
  // Live figures: no cache may keep them.
  reply.headers.emplace_back("Cache-Control", "no-store");
  return reply;
}

// Answers with `answer(counts)` once every event loop has counted the channels' subscribers:
// now when this is the only loop, else later.
Outcome WithSubscribers(ServerContext& context, std::vector<std::string> channels,
                        const Routes::Subscribers& here, Routes::Later later,
                        std::function<Reply(const Counter&)> answer) {
  if (context.census.loops() == 1) {
    return Outcome::Of(answer([&here](const std::string& channel) { return here(channel, 0); }));
  }
  std::vector<SubscriberCensus::Question> questions;
  for (std::string& channel : channels) questions.push_back({std::move(channel), 0});
  context.census.Count(std::move(questions),
                       [later, answer](const SubscriberCensus::Counts& counts) {
                         later(Outcome::Of(answer(SubscriberCensus::Lookup(counts))));
                       });
  return Outcome::Later();
}

// The page's bounds from the query: `after` (a channel name) and `limit`, or what is wrong.
struct Page {
  std::string after;
  std::size_t limit = kDefaultChannelPage;
  std::string error;
};

Page Bad(std::string error) {
  Page page;
  page.error = std::move(error);
  return page;
}

Page ParsePage(std::string_view query) {
  Page page;
  std::optional<FormFields> fields = DecodeForm(query);
  if (!fields) return Bad("malformed query string");
  bool seen_after = false, seen_limit = false;
  for (const auto& [name, value] : *fields) {
    if (name == "after" && !seen_after) {
      seen_after = true;
      if (!IsValidChannelName(value)) {
        return Bad("'after' must be a channel name (" + std::string(kChannelCharsetDescription) +
                   ")");
      }
      page.after = value;
    } else if (name == "limit" && !seen_limit) {
      seen_limit = true;
      const char* end = value.data() + value.size();
      auto [ptr, ec] = std::from_chars(value.data(), end, page.limit);
      if (ec != std::errc() || ptr != end || page.limit < 1 || page.limit > kMaxChannelPage) {
        return Bad("'limit' must be a whole number from 1 to " + std::to_string(kMaxChannelPage));
      }
    } else {
      return Bad("unknown or repeated parameter '" + name.substr(0, 64) + "'");
    }
  }
  return page;
}

Outcome ListChannels(ServerContext& context, const RequestHead& head, Routes::Later later,
                     const Routes::Subscribers& here) {
  Page page = ParsePage(head.query());
  if (!page.error.empty()) return Outcome::Of(JsonError(400, page.error));
  // One more than asked: whether there is a next page.
  std::vector<ChannelStats> stats = context.feed.store().Channels(page.after, page.limit + 1);
  const bool more = stats.size() > page.limit;
  if (more) stats.pop_back();
  std::vector<std::string> names;
  for (const ChannelStats& channel : stats) names.push_back(channel.channel);
  auto answer = [stats = std::move(stats), more](const Counter& subscribers) {
    json list = json::array();
    for (const ChannelStats& channel : stats) {
      list.push_back(Describe(channel, subscribers(channel.channel)));
    }
    // The cursor of the next page is the last name of this one.
    const json next = more ? json(stats.back().channel) : json(nullptr);
    return JsonReply({{"channels", std::move(list)}, {"next", next}});
  };
  return WithSubscribers(context, std::move(names), here, std::move(later), std::move(answer));
}

Outcome OneChannel(ServerContext& context, const RequestHead& head, Routes::Later later,
                   const Routes::Subscribers& here) {
  const std::string name(head.path().substr(kChannelsPath.size() + 1));
  if (!IsValidChannelName(name)) {
    return Outcome::Of(JsonError(
        400, "invalid channel name '" + name.substr(0, 80) + "': " + kChannelCharsetDescription));
  }
  if (!head.query().empty()) return Outcome::Of(JsonError(400, "/channels/<name> takes no query"));
  std::vector<ChannelStats> found = context.feed.store().Channels(Before(name), 1);
  // A channel the store holds nothing of may still have subscribers waiting for its first item.
  ChannelStats stats{.channel = name};
  if (!found.empty() && found.front().channel == name) stats = found.front();
  auto answer = [stats](const Counter& subscribers) {
    return JsonReply(Describe(stats, subscribers(stats.channel)));
  };
  return WithSubscribers(context, {name}, here, std::move(later), std::move(answer));
}

}  // namespace

Outcome ServeMetrics(ServerContext& context, const LiveSettings& live, const RequestHead& head,
                     Routes::Later later) {
  if (auto refusal = CheckAdmin(live, head)) return Outcome::Of(std::move(*refusal));
  auto render = [&context, later] {
    Reply reply;
    reply.content_type = metrics::kExpositionContentType;
    reply.body = context.metrics.Render();
    reply.headers.emplace_back("Cache-Control", "no-store");
    later(Outcome::Of(std::move(reply)));
  };
  if (!context.pool.Submit(std::move(render))) return Outcome::Of(Busy());
  return Outcome::Later();
}

Outcome ServeChannels(ServerContext& context, const LiveSettings& live, const RequestHead& head,
                      Routes::Later later, const Routes::Subscribers& here) {
  if (auto refusal = CheckAdmin(live, head)) return Outcome::Of(std::move(*refusal));
  if (head.path() == kChannelsPath) return ListChannels(context, head, std::move(later), here);
  return OneChannel(context, head, std::move(later), here);
}

}  // namespace livefeed
