// Leveled logging to stderr, one line per call, as text or as JSON (--log-format). Lines
// are written with a single write(2), so lines from different threads never interleave.
// The access log's line is built by one function, FormatAccessLine, in either format.
// Safe for concurrent use.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace livefeed {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
enum class LogFormat { kText, kJson };

std::optional<LogLevel> ParseLogLevel(std::string_view name);
std::optional<LogFormat> ParseLogFormat(std::string_view name);
void SetLogLevel(LogLevel level);
void SetLogFormat(LogFormat format);
bool LogEnabled(LogLevel level);
// Text: `<time> <level> <message>`; JSON: {"time", "level", "message"}.
void Log(LogLevel level, std::string_view message);

// One answered request, as the access log records it.
struct AccessRecord {
  std::chrono::system_clock::time_point time;  // When the answer was complete.
  std::string_view request_id;
  std::string_view client;  // The peer's address, or the one a trusted proxy named.
  std::string_view method;
  std::string_view target;  // As requested: `token` query values are redacted when logged.
  int status = 0;
  std::uint64_t bytes = 0;              // Response bytes sent, head and body.
  std::chrono::nanoseconds duration{};  // From the request's arrival to its answer's end.
};

// The access line for `record`, with its newline:
//   text: <time> info <client> "<method> <target>" <status> <bytes> <duration>ms <request id>
//   json: {"time","level","request_id","client","method","path","status","bytes","duration_ms"}
// Control characters (and in text, quotes and backslashes) are escaped, so no field can
// forge a line or break the JSON.
std::string FormatAccessLine(const AccessRecord& record, LogFormat format);
// Writes FormatAccessLine(record, the format set) when info is enabled.
void LogAccess(const AccessRecord& record);

// `target` with the value of any `token` query parameter replaced by "***".
std::string RedactToken(std::string_view target);

}  // namespace livefeed
