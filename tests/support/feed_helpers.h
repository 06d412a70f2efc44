// Shorthands for integration tests that talk to a running livefeed.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "support/http_client.h"
#include "support/server_process.h"

namespace livefeed::testing {

// Publishes {"data": data} (JSON text) on `channel`; returns the new id.
inline std::uint64_t Publish(int port, const std::string& data_json,
                             const std::string& channel = "default", const std::string& type = "") {
  std::string body = "{\"data\":" + data_json + ",\"channel\":\"" + channel + "\"";
  if (!type.empty()) body += ",\"type\":\"" + type + "\"";
  body += "}";
  HttpResponse response = PostJson(port, body);
  REQUIRE_MESSAGE(response.status == 200, response.body);
  return response.Json()["id"].get<std::uint64_t>();
}

inline nlohmann::json Health(int port) { return Get(port, "/healthz").Json(); }

// Waits, asking over `connection` (kept open, so it is the only connection the asking
// adds), until the server holds `waiting` requests on `connections` open connections.
inline bool WaitForCounts(HttpConnection& connection, int waiting, int connections) {
  return WaitUntil([&] {
    connection.Send("GET", "/healthz");
    nlohmann::json health = connection.Read().Json();
    return health.is_object() && health["waiting"] == waiting &&
           health["connections"] == connections;
  });
}

// Waits until the server holds `count` waiting requests.
inline bool WaitForWaiters(int port, int count) {
  return WaitUntil([&] {
    nlohmann::json health = Health(port);
    return health.is_object() && health["waiting"] == count;
  });
}

}  // namespace livefeed::testing
