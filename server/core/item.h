// An item of the feed and its JSON encoding.
// Items are immutable once made and shared by pointer between the store and the
// transports, so one publish is encoded once however many clients receive it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

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
  // {"id":..,"timestamp":..,"channel":..,"type":..,"data":..}, built once by MakeItem. The
  // data is kept only inside it: a backlog holds each item's bytes once.
  std::string json;
  std::size_t data_offset = 0;
  // The json up to here is {"id":..,"timestamp":..,"channel":.. which is how a publish's
  // answer for the item begins: it is copied, not written again.
  std::size_t answer_prefix = 0;

  std::string_view data_json() const {
    return std::string_view(json).substr(data_offset, json.size() - data_offset - 1);
  }
  // What the item costs a backlog, for byte limits: its text and a fixed overhead.
  std::size_t footprint() const { return json.size() + channel.size() + type.size() + 160; }
};

using ItemPtr = std::shared_ptr<const Item>;

ItemPtr MakeItem(std::uint64_t id, std::int64_t timestamp_ms, ItemDraft draft);

// Appends `text` to `out` as a JSON string literal. `text` must be valid UTF-8.
void AppendJsonString(std::string& out, std::string_view text);

}  // namespace livefeed
