#include "transport/publish.h"

#include <algorithm>
#include <cstdio>
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
  if (!parsed.ok) return parsed;
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
  parsed.append.drafts.back().channel = channel;
  return parsed;
}

ParsedPublish CheckType(ParsedPublish parsed) {
  // Types become SSE event names, so they keep to the channel charset (no newlines).
  if (!parsed.ok) return parsed;
  const std::string& type = parsed.append.drafts.back().type;
  if (!type.empty() && !IsValidChannelName(type)) {
    return Bad(400, std::string("invalid type '") + type.substr(0, 80) + "': use " +
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

// One item object of a JSON body (or of a batch): its draft, or the reason it is refused.
ParsedPublish ParseItem(const json& body, const QueryParams& params) {
  if (!body.is_object()) return Bad(400, "an item must be a JSON object with a \"data\" field");
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
  ItemDraft& draft = parsed.append.drafts.emplace_back();
  if (body.contains("type") && !body["type"].is_null()) {
    if (!body["type"].is_string()) return Bad(400, "\"type\" must be a string");
    draft.type = body["type"].get<std::string>();
  }
  draft.data_json = body["data"].dump();
  return CheckType(SetChannel(std::move(parsed), channel, body.contains("channel"), params));
}

ParsedPublish ParseJson(const PublishRequest& request, std::size_t max_batch) {
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
  if (!body.is_array()) return ParseItem(body, request.params);
  if (body.empty()) return Bad(400, "an empty batch: send at least one item");
  if (body.size() > max_batch) {
    return Bad(413, "a batch holds at most " + std::to_string(max_batch) + " items, got " +
                        std::to_string(body.size()));
  }
  ParsedPublish batch;
  batch.ok = true;
  batch.batch = true;
  batch.append.drafts.reserve(body.size());
  for (std::size_t i = 0; i < body.size(); ++i) {
    ParsedPublish one = ParseItem(body[i], request.params);
    if (!one.ok) {
      // All or nothing: one bad item refuses the batch, and says which.
      one.error =
          JsonError(one.error.status, "item " + std::to_string(i) + ": " +
                                          json::parse(one.error.body)["error"].get<std::string>());
      return one;
    }
    batch.append.drafts.push_back(std::move(one.append.drafts.front()));
  }
  return batch;
}

ParsedPublish ParseForm(const PublishRequest& request) {
  std::optional<FormFields> fields = DecodeForm(request.body);
  if (!fields) return Bad(400, "malformed form body (bad percent-encoding or invalid UTF-8)");

  ParsedPublish parsed;
  parsed.ok = true;
  ItemDraft& draft = parsed.append.drafts.emplace_back();
  std::string channel;
  bool has_channel = false;
  json data = json::object();
  for (const auto& [name, value] : *fields) {
    // An admin form posts its empty inputs too: empty type/channel mean "none given".
    if (name == "type") {
      draft.type = value;
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
  parsed.append.drafts.back().data_json = data.dump();
  return CheckType(SetChannel(std::move(parsed), channel, has_channel, request.params));
}

// Identifies a request's content for the idempotency check: a retry carries the same, a
// different request under the same key does not. FNV-1a, so that every node computes the
// same value for the same bytes.
std::string Fingerprint(const PublishRequest& request) {
  std::uint64_t hash = 14695981039346656037ull;
  auto mix = [&hash](std::string_view bytes) {
    for (unsigned char c : bytes) {
      hash ^= c;
      hash *= 1099511628211ull;
    }
    hash ^= 0xff;  // Separates the parts: ("ab","c") differs from ("a","bc").
    hash *= 1099511628211ull;
  };
  mix(MediaType(request.content_type));
  for (const auto& [name, value] : request.params) {
    if (name == "channel") mix(value);
  }
  mix(request.body);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
  return hex;
}

void AppendItemAnswer(std::string& out, const Item& item, std::size_t subscribers) {
  out += "{\"id\":";
  out += std::to_string(item.id);
  out += ",\"timestamp\":";
  out += std::to_string(item.timestamp_ms);
  out += ",\"channel\":";
  AppendJsonString(out, item.channel);
  out += ",\"subscribers\":";
  out += std::to_string(subscribers);
  out += '}';
}

}  // namespace

ParsedPublish ParsePublish(const PublishRequest& request, std::size_t max_batch) {
  const std::string& key = request.idempotency_key;
  if (key.size() > kMaxIdempotencyKeyLength ||
      !std::all_of(key.begin(), key.end(), [](char c) { return c > 0x20 && c < 0x7f; })) {
    return Bad(400, "Idempotency-Key must be 1-128 visible ASCII characters");
  }
  const std::string media_type = MediaType(request.content_type);
  ParsedPublish parsed;
  if (media_type == "application/json") {
    parsed = ParseJson(request, max_batch);
  } else if (media_type == "application/x-www-form-urlencoded") {
    parsed = ParseForm(request);
  } else {
    return Bad(415,
               "Content-Type must be application/json or application/x-www-form-urlencoded, "
               "got '" +
                   request.content_type.substr(0, 80) + "'");
  }
  if (parsed.ok && !key.empty()) {
    parsed.append.idempotency_key = key;
    parsed.append.fingerprint = Fingerprint(request);
  }
  return parsed;
}

Reply PublishReply(const AppendResult& result, bool batch,
                   const std::function<std::size_t(const std::string&)>& subscribers) {
  switch (result.status) {
    case StoreStatus::kOk:
      break;
    case StoreStatus::kFull:
      return JsonError(507, "too many channels hold items; publish to an existing channel");
    case StoreStatus::kTooLarge:
      return JsonError(507, "the backlog's byte limits cannot keep this publish");
    case StoreStatus::kKeyConflict:
      return JsonError(422, "Idempotency-Key already used for a different request");
    case StoreStatus::kUnavailable:
    case StoreStatus::kBusy: {
      Reply reply = JsonError(503, result.status == StoreStatus::kBusy
                                       ? "the feed store is busy; nothing was published"
                                       : "the feed store is unavailable; nothing was published");
      reply.headers.emplace_back("Retry-After", "1");
      return reply;
    }
  }
  Reply reply;
  if (batch) {
    reply.body = "{\"items\":[";
    for (std::size_t i = 0; i < result.items.size(); ++i) {
      if (i) reply.body += ',';
      AppendItemAnswer(reply.body, *result.items[i], subscribers(result.items[i]->channel));
    }
    reply.body += "]}";
  } else {
    AppendItemAnswer(reply.body, *result.items.front(), subscribers(result.items.front()->channel));
  }
  if (result.replayed) reply.headers.emplace_back("Idempotent-Replayed", "true");
  return reply;
}

}  // namespace livefeed
