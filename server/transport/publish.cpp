#include "transport/publish.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/channel_name.h"
#include "transport/form_decoding.h"

namespace livefeed {
namespace {

using nlohmann::json;

ParsedPublish Bad(int status, const std::string& message) {
  ParsedPublish parsed;
  parsed.error = JsonError(status, message);
  return parsed;
}

// The media type without parameters, lower-cased: "Application/JSON; charset=utf-8" →
// "application/json".
std::string MediaType(const std::string& content_type) {
  std::string type = content_type.substr(0, content_type.find(';'));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.pop_back();
  for (char& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return type;
}

// Settles the item's channel from the body's and the query's, which must agree.
ParsedPublish SetChannel(ParsedPublish parsed, const std::string& from_body, bool body_has,
                         const QueryParams& params) {
  const auto query_count = params.count("channel");
  if (query_count > 1) return Bad(400, "parameter 'channel' given more than once");
  std::string channel = body_has ? from_body : std::string(kDefaultChannel);
  if (query_count == 1) {
    const std::string& from_query = params.find("channel")->second;
    if (body_has && from_query != from_body) {
      return Bad(400, "the channel in the query and in the body differ");
    }
    channel = from_query;
  }
  if (!IsValidChannelName(channel)) {
    return Bad(400, "invalid channel name '" + channel.substr(0, 80) + "': use " +
                        kChannelCharsetDescription);
  }
  parsed.draft.channel = channel;
  return parsed;
}

ParsedPublish CheckType(ParsedPublish parsed) {
  // Types become SSE event names, so they keep to the channel charset (no newlines).
  if (!parsed.draft.type.empty() && !IsValidChannelName(parsed.draft.type)) {
    return Bad(400, std::string("invalid type '") + parsed.draft.type.substr(0, 80) + "': use " +
                        kChannelCharsetDescription);
  }
  return parsed;
}

// The deepest nesting of arrays and objects in `text`, brackets inside strings aside. A
// linear scan before parsing: deep input is refused before any of it is built, and the
// parser runs without a per-token callback.
int NestingDepth(const std::string& text) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

ParsedPublish ParseJson(const PublishRequest& request) {
  // The body is level 1; `data` may nest kMaxJsonDepth - 1 levels below it.
  if (NestingDepth(request.body) > kMaxJsonDepth) {
    return Bad(400, "JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  }
  json body;
  try {
    body = json::parse(request.body);
  } catch (const json::exception& e) {
    // Syntax errors, and numbers out of range (1e999) which the parser reports separately.
    return Bad(400, std::string("malformed JSON: ") + e.what());
  }
  if (!body.is_object()) return Bad(400, "the body must be a JSON object with a \"data\" field");
  for (const auto& [key, value] : body.items()) {
    if (key != "data" && key != "type" && key != "channel") {
      return Bad(400, "unknown field '" + key.substr(0, 40) + "' (allowed: data, type, channel)");
    }
  }
  if (!body.contains("data")) return Bad(400, "the field \"data\" is required");

  ParsedPublish parsed;
  parsed.ok = true;
  std::string channel;
  if (body.contains("channel")) {
    if (!body["channel"].is_string()) return Bad(400, "\"channel\" must be a string");
    channel = body["channel"].get<std::string>();
  }
  if (body.contains("type") && !body["type"].is_null()) {
    if (!body["type"].is_string()) return Bad(400, "\"type\" must be a string");
    parsed.draft.type = body["type"].get<std::string>();
  }
  parsed.draft.data_json = body["data"].dump();
  return CheckType(
      SetChannel(std::move(parsed), channel, body.contains("channel"), request.params));
}

ParsedPublish ParseForm(const PublishRequest& request) {
  std::optional<FormFields> fields = DecodeForm(request.body);
  if (!fields) return Bad(400, "malformed form body (bad percent-encoding or invalid UTF-8)");

  ParsedPublish parsed;
  parsed.ok = true;
  std::string channel;
  bool has_channel = false;
  json data = json::object();
  for (const auto& [name, value] : *fields) {
    // An admin form posts its empty inputs too: empty type/channel mean "none given".
    if (name == "type") {
      parsed.draft.type = value;
    } else if (name == "channel") {
      if (!value.empty()) {
        channel = value;
        has_channel = true;
      }
    } else if (data.contains(name)) {
      // A repeated field (checkboxes) keeps every value.
      if (!data[name].is_array()) data[name] = json::array({data[name]});
      data[name].push_back(value);
    } else {
      data[name] = value;
    }
  }
  parsed.draft.data_json = data.dump();
  return CheckType(SetChannel(std::move(parsed), channel, has_channel, request.params));
}

}  // namespace

ParsedPublish ParsePublish(const PublishRequest& request) {
  const std::string media_type = MediaType(request.content_type);
  if (media_type == "application/json") return ParseJson(request);
  if (media_type == "application/x-www-form-urlencoded") return ParseForm(request);
  return Bad(415,
             "Content-Type must be application/json or application/x-www-form-urlencoded, got '" +
                 request.content_type.substr(0, 80) + "'");
}

Reply HandlePublish(Feed& feed, const PublishRequest& request, IdempotencyCache* keys) {
  const std::string& key = request.idempotency_key;
  if (key.size() > kMaxIdempotencyKeyLength ||
      !std::all_of(key.begin(), key.end(), [](char c) { return c > 0x20 && c < 0x7f; })) {
    return JsonError(400, "Idempotency-Key must be 1-128 visible ASCII characters");
  }
  ParsedPublish parsed = ParsePublish(request);
  if (!parsed.ok) return parsed.error;

  StoreStatus status = StoreStatus::kOk;
  auto publish = [&]() -> ItemPtr {
    AppendResult appended = feed.Publish(std::move(parsed.draft));
    status = appended.status;
    return appended.item;
  };
  ItemPtr item;
  bool replayed = false;
  if (keys && !key.empty()) {
    IdempotencyCache::Outcome outcome = keys->PublishOnce(key, publish);
    item = outcome.item;
    replayed = outcome.replayed;
  } else {
    item = publish();
  }
  if (status == StoreStatus::kFull) {
    return JsonError(507, "too many channels hold items; publish to an existing channel");
  }
  if (!item) {
    Reply reply = JsonError(503, "the feed store is unavailable; nothing was published");
    reply.headers.emplace_back("Retry-After", "1");
    return reply;
  }
  Reply reply;
  reply.body = "{\"id\":" + std::to_string(item->id) +
               ",\"timestamp\":" + std::to_string(item->timestamp_ms) + ",\"channel\":";
  AppendJsonString(reply.body, item->channel);
  reply.body += '}';
  if (replayed) reply.headers.emplace_back("Idempotent-Replayed", "true");
  return reply;
}

}  // namespace livefeed
