// Reading a Prometheus text exposition in tests: the value of one series, as a scrape of
// GET /metrics shows it.
#pragma once

#include <optional>
#include <sstream>
#include <string>

#include "support/http_client.h"

namespace livefeed::testing {

// The value of `series` (a name with its labels as written, e.g.
// `livefeed_items_delivered_total{transport="sse"}`), or nullopt when it is not there.
inline std::optional<double> SampleValue(const std::string& exposition, const std::string& series) {
  std::istringstream lines(exposition);
  for (std::string line; std::getline(lines, line);) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ') {
      return std::stod(line.substr(series.size() + 1));
    }
  }
  return std::nullopt;
}

// GET /metrics on a fresh connection, with the admin token when given.
inline HttpResponse Scrape(int port, const std::string& token = "") {
  return Send(port, "GET", "/metrics",
              token.empty() ? "" : "Authorization: Bearer " + token + "\r\n");
}

// The value of `series` in a fresh scrape; -1 when the scrape or the series is missing.
inline double Metric(int port, const std::string& series, const std::string& token = "") {
  const HttpResponse response = Scrape(port, token);
  if (response.status != 200) return -1;
  return SampleValue(response.body, series).value_or(-1);
}

}  // namespace livefeed::testing
