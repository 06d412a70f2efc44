// Shorthands for integration tests that talk to a running livefeed.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "support/http_client.h"
#include "support/server_process.h"
#include "support/sse_client.h"

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

// Clients the server holds: long-polls waiting for the next item and open event streams.
struct HeldClients {
  std::vector<std::unique_ptr<HttpConnection>> polls;
  std::vector<std::unique_ptr<SseClient>> streams;
};

// Opens `polls` long-polls and `streams` streams, each with `query` (e.g. "channel=quiet").
inline HeldClients HoldClients(int port, int polls, int streams, const std::string& query) {
  HeldClients held;
  for (int i = 0; i < polls; ++i) {
    held.polls.push_back(std::make_unique<HttpConnection>(port));
    held.polls.back()->Send("GET", "/real_time_feed?" + query);
  }
  for (int i = 0; i < streams; ++i) {
    held.streams.push_back(std::make_unique<SseClient>(port, "/real_time_feed/stream?" + query));
  }
  return held;
}

}  // namespace livefeed::testing
