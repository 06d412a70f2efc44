#include "transport/reply.h"

#include <nlohmann/json.hpp>

namespace livefeed {

Reply JsonError(int status, std::string_view message) {
  Reply reply;
  reply.status = status;
  nlohmann::json body = {{"error", std::string(message)}};
  // Messages may quote client input, which need not be valid UTF-8.
  reply.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return reply;
}

}  // namespace livefeed
