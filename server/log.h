// Leveled logging to stderr, one line per call. Lines are written with a single write(2),
// so lines from different threads never interleave. Safe for concurrent use.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace livefeed {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

std::optional<LogLevel> ParseLogLevel(std::string_view name);
void SetLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);
void Log(LogLevel level, std::string_view message);

}  // namespace livefeed
