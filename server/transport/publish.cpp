#include "transport/publish.h"

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <nlohmann/json.hpp>

#include "core/ascii.h"
#include "core/channel_name.h"
#include "core/decimal.h"
#include "transport/form_decoding.h"
#include "transport/json_reader.h"

namespace livefeed {
namespace {

using nlohmann::json;

ParsedPublish Bad(int status, const std::string& message) {
  ParsedPublish parsed;
  parsed.error = JsonError(status, message);
  return parsed;
}

constexpr std::string_view kJsonType = "application/json";
constexpr std::string_view kFormType = "application/x-www-form-urlencoded";

// Settles the item's channel from the body's and the query's, which must agree. In place:
// a publish is not moved from step to step.
void SetChannel(ParsedPublish& parsed, const std::string& from_body, bool body_has,
                const QueryParams& params) {
  if (!parsed.ok) return;
  const auto [first, last] = params.equal_range("channel");
  if (first != last && std::next(first) != last) {
    parsed = Bad(400, "parameter 'channel' given more than once");
    return;
  }
  const std::string* channel = body_has ? &from_body : nullptr;
  if (first != last) {
    const std::string& from_query = first->second;
    if (body_has && from_query != from_body) {
      parsed = Bad(400, "the channel in the query and in the body differ");
      return;
    }
    channel = &from_query;
  }
  std::string& draft_channel = parsed.append.drafts.back().channel;
  draft_channel = channel ? *channel : std::string(kDefaultChannel);
  if (!IsValidChannelName(draft_channel)) {
    parsed = Bad(400, "invalid channel name '" + draft_channel.substr(0, 80) + "': use " +
                          kChannelCharsetDescription);
  }
}

void CheckType(ParsedPublish& parsed) {
  // Types become SSE event names, so they keep to the channel charset (no newlines).
  if (!parsed.ok) return;
  const std::string& type = parsed.append.drafts.back().type;
  if (!type.empty() && !IsValidChannelName(type)) {
    parsed = Bad(400, std::string("invalid type '") + type.substr(0, 80) + "': use " +
                          kChannelCharsetDescription);
  }
}

ParsedPublish Malformed(const JsonReader& reader) {
  return Bad(400, "malformed JSON: " + reader.error());
}

// One item object at the reader's position, inside `depth` levels already open: its draft,
// or the reason it is refused.
ParsedPublish ReadItem(JsonReader& reader, int depth, const QueryParams& params) {
  if (!reader.Consume('{')) return Bad(400, "an item must be a JSON object with a \"data\" field");
  ParsedPublish parsed;
  parsed.ok = true;
  ItemDraft& draft = parsed.append.drafts.emplace_back();
  bool has_data = false, has_type = false, has_channel = false;
  std::string key, channel;
  if (!reader.Consume('}')) {
    do {
      if (!reader.ReadString(key)) return Malformed(reader);
      if (!reader.Consume(':')) return reader.Fail("expected ':'"), Malformed(reader);
      const bool seen = key == "data" ? has_data : key == "type" ? has_type : has_channel;
      if (seen) return Bad(400, "the field \"" + key + "\" is given twice");
      if (key == "data") {
        has_data = true;
        // The item's data as sent, without the whitespace between its tokens.
        if (!reader.ReadValue(draft.data_json, depth + 1)) return Malformed(reader);
      } else if (key == "type") {
        has_type = true;
        if (reader.Peek() == 'n') {
          if (!reader.ReadNull()) return Malformed(reader);  // null: no type.
        } else if (reader.Peek() != '"') {
          return Bad(400, "\"type\" must be a string");
        } else if (!reader.ReadString(draft.type)) {
          return Malformed(reader);
        }
      } else if (key == "channel") {
        has_channel = true;
        if (reader.Peek() != '"') return Bad(400, "\"channel\" must be a string");
        if (!reader.ReadString(channel)) return Malformed(reader);
      } else {
        return Bad(400, "unknown field '" + key.substr(0, 40) + "' (allowed: data, type, channel)");
      }
    } while (reader.Consume(','));
    if (!reader.Consume('}')) return reader.Fail("expected ',' or '}'"), Malformed(reader);
  }
  if (!has_data) return Bad(400, "the field \"data\" is required");
  SetChannel(parsed, channel, has_channel, params);
  CheckType(parsed);
  return parsed;
}

// A batch: `[item, item, ...]`, all or nothing.
ParsedPublish ReadBatch(JsonReader& reader, const QueryParams& params, std::size_t max_batch) {
  reader.Consume('[');
  if (reader.Consume(']')) return Bad(400, "an empty batch: send at least one item");
  ParsedPublish batch;
  batch.ok = true;
  batch.batch = true;
  do {
    const std::size_t i = batch.append.drafts.size();
    if (i == max_batch) {
      return Bad(413, "a batch holds at most " + std::to_string(max_batch) + " items");
    }
    ParsedPublish one = ReadItem(reader, 1, params);
    if (!one.ok) {
      // One bad item refuses the batch, and says which.
      const std::string message = nlohmann::json::parse(one.error.body)["error"];
      return Bad(one.error.status, "item " + std::to_string(i) + ": " + message);
    }
    batch.append.drafts.push_back(std::move(one.append.drafts.front()));
  } while (reader.Consume(','));
  if (!reader.Consume(']')) return reader.Fail("expected ',' or ']'"), Malformed(reader);
  return batch;
}

ParsedPublish ParseJson(const PublishRequest& request, std::size_t max_batch) {
  // The body is level 1; `data` may nest kMaxJsonDepth - 1 levels below it.
  JsonReader reader(request.body, kMaxJsonDepth);
  ParsedPublish parsed;
  const char first = reader.Peek();
  if (first == '[') {
    parsed = ReadBatch(reader, request.params, max_batch);
  } else if (first == '{') {
    parsed = ReadItem(reader, 0, request.params);
  } else {
    // A scalar, or nothing: malformed, or well formed and not an object.
    std::string ignored;
    if (reader.AtEnd()) return reader.Fail("unexpected end of input"), Malformed(reader);
    if (!reader.ReadValue(ignored, 0)) return Malformed(reader);
    return Bad(400, "the body must be a JSON object with a \"data\" field (or an array of them)");
  }
  if (parsed.ok && !reader.AtEnd()) {
    return reader.Fail("unexpected characters after the JSON value"), Malformed(reader);
  }
  return parsed;
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
  SetChannel(parsed, channel, has_channel, request.params);
  CheckType(parsed);
  return parsed;
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
  // Parsed publishes only: JSON or a form, named the same however they were spelled.
  mix(PublishMediaOf(request.content_type) == PublishMedia::kJson ? kJsonType : kFormType);
  for (const auto& [name, value] : request.params) {
    if (name == "channel") mix(value);
  }
  mix(request.body);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
  return hex;
}

void AppendItemAnswer(std::string& out, const Item& item, std::size_t subscribers) {
  // {"id":..,"timestamp":..,"channel":.. as the item's own JSON begins.
  out.append(item.json, 0, item.answer_prefix);
  out += ",\"subscribers\":";
  AppendDecimal(out, subscribers);
  out += '}';
}

}  // namespace

PublishMedia PublishMediaOf(std::string_view content_type) {
  std::string_view type = content_type.substr(0, content_type.find(';'));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  if (EqualsIgnoreCase(type, kJsonType)) return PublishMedia::kJson;
  if (EqualsIgnoreCase(type, kFormType)) return PublishMedia::kForm;
  return PublishMedia::kOther;
}

std::string UnsupportedMediaMessage(std::string_view content_type) {
  return "Content-Type must be application/json or application/x-www-form-urlencoded, got '" +
         std::string(content_type.substr(0, 80)) + "'";
}

ParsedPublish ParsePublish(const PublishRequest& request, std::size_t max_batch) {
  const std::string& key = request.idempotency_key;
  if (key.size() > kMaxIdempotencyKeyLength ||
      !std::all_of(key.begin(), key.end(), [](char c) { return c > 0x20 && c < 0x7f; })) {
    return Bad(400, "Idempotency-Key must be 1-128 visible ASCII characters");
  }
  const PublishMedia media = PublishMediaOf(request.content_type);
  ParsedPublish parsed;
  if (media == PublishMedia::kJson) {
    parsed = ParseJson(request, max_batch);
  } else if (media == PublishMedia::kForm) {
    parsed = ParseForm(request);
  } else {
    return Bad(415, UnsupportedMediaMessage(request.content_type));
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
      // The store cannot say which limit: a batch over --backlog on one channel, or items
      // over --backlog-max-bytes or --memory-limit, would all evict the publish itself.
      return JsonError(507,
                       "the backlog cannot keep this publish: it is larger than --backlog items, "
                       "--backlog-max-bytes of one channel, or --memory-limit");
    case StoreStatus::kKeyConflict:
      return JsonError(422, "Idempotency-Key already used for a different request");
    case StoreStatus::kUnavailable:
    case StoreStatus::kBusy: {
      // Unavailable may mean the connection to Redis was lost after the publish was sent:
      // whether it was kept is unknown, so the answer does not claim either way.
      Reply reply = JsonError(503, result.status == StoreStatus::kBusy
                                       ? "the feed store is busy; nothing was published"
                                       : "the feed store is unavailable; retry (with the same "
                                         "Idempotency-Key a retry cannot publish twice)");
      reply.headers.emplace_back("Retry-After", "1");
      return reply;
    }
  }
  Reply reply;
  // An item's answer is some 80 bytes and its channel: one allocation, not several.
  reply.body.reserve(16 + result.items.size() * (96 + result.items.front()->channel.size()));
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
