// libFuzzer target: the publish body parser. The first byte picks the content type, the rest
// is the body. Any input must yield either a draft with valid JSON data and valid names, or
// an error reply with a JSON body; never a crash, a hang or an exception. A JSON body we
// accept must be one a strict parser (nlohmann's) accepts too, with the same data: our
// one-pass reader is checked against it.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "core/channel_name.h"
#include "transport/publish.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static const char* kTypes[] = {"application/json", "application/x-www-form-urlencoded",
                                 "application/json; charset=utf-8", "text/plain"};
  livefeed::PublishRequest request;
  request.content_type = kTypes[data[0] % 4];
  request.body.assign(reinterpret_cast<const char*>(data + 1), size - 1);
  livefeed::ParsedPublish parsed = livefeed::ParsePublish(request);
  if (parsed.ok) {
    if (parsed.append.drafts.empty()) __builtin_trap();
    for (const livefeed::ItemDraft& draft : parsed.append.drafts) {
      if (!livefeed::IsValidChannelName(draft.channel)) __builtin_trap();
      if (!nlohmann::json::accept(draft.data_json)) __builtin_trap();
    }
    if (data[0] % 4 != 1) {  // JSON
      const nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
      if (body.is_discarded()) __builtin_trap();
      const nlohmann::json& first = body.is_array() ? body.at(0) : body;
      if (nlohmann::json::parse(parsed.append.drafts[0].data_json) != first.at("data")) {
        __builtin_trap();
      }
    }
  } else {
    if (parsed.error.status < 400 || !nlohmann::json::accept(parsed.error.body)) __builtin_trap();
  }
  return 0;
}
