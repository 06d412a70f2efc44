#include "core/item.h"

#include <cstdio>

#include "core/decimal.h"

namespace livefeed {

void AppendJsonString(std::string& out, std::string_view text) {
  out += '"';
  // Runs of characters that need no escape (nearly all of them) are appended whole.
  std::size_t run = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(text.substr(run, i - run));
    run = i + 1;
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
      default: {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out += buf;
      }
    }
  }
  out.append(text.substr(run));
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
  item->answer_prefix = j.size();
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
