#include "core/item.h"

#include <cstdio>

#include "core/decimal.h"

namespace livefeed {

void AppendJsonString(std::string& out, std::string_view text) {
  out += '"';
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

ItemPtr MakeItem(std::uint64_t id, std::int64_t timestamp_ms, ItemDraft draft) {
  auto item = std::make_shared<Item>();
  item->id = id;
  item->timestamp_ms = timestamp_ms;
  item->channel = std::move(draft.channel);
  item->type = std::move(draft.type);

  std::string& j = item->json;
  j.reserve(draft.data_json.size() + item->channel.size() + item->type.size() + 80);
  j += "{\"id\":";
  AppendDecimal(j, id);
  j += ",\"timestamp\":";
  AppendDecimal(j, timestamp_ms);
  j += ",\"channel\":";
  AppendJsonString(j, item->channel);
  if (!item->type.empty()) {
    j += ",\"type\":";
    AppendJsonString(j, item->type);
  }
  j += ",\"data\":";
  item->data_offset = j.size();
  j += draft.data_json;
  j += '}';
  return item;
}

}  // namespace livefeed
