// An item of the feed and its JSON encoding.
// Items are immutable once made and shared by pointer between the store, waiters and
// transports, so one publish is encoded once however many clients receive it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace livefeed {

// What a publisher hands in: the store assigns id and timestamp.
struct ItemDraft {
  std::string channel;
  std::string type;       // Empty when the publisher gave none.
  std::string data_json;  // Valid JSON text, validated by the transport that parsed it.
};

struct Item {
  std::uint64_t id = 0;
  std::int64_t timestamp_ms = 0;
  std::string channel;
  std::string type;
  std::string data_json;
  // {"id":..,"timestamp":..,"channel":..,"type":..,"data":..}, built once by MakeItem.
  std::string json;
};

using ItemPtr = std::shared_ptr<const Item>;

ItemPtr MakeItem(std::uint64_t id, std::int64_t timestamp_ms, ItemDraft draft);

// Appends `text` to `out` as a JSON string literal. `text` must be valid UTF-8.
void AppendJsonString(std::string& out, const std::string& text);

}  // namespace livefeed
