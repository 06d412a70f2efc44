#include "log.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <ctime>

namespace livefeed {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::atomic<int> g_format{static_cast<int>(LogFormat::kText)};
constexpr const char* kLevelNames[] = {"debug", "info", "warn", "error"};
constexpr const char* kFormatNames[] = {"text", "json"};

LogFormat CurrentFormat() {
  return static_cast<LogFormat>(g_format.load(std::memory_order_relaxed));
}

// 2024-05-01T12:34:56.789Z
void AppendTime(std::string& out, std::chrono::system_clock::time_point time) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count() % 1000;
  std::tm utc;
  gmtime_r(&seconds, &utc);
  char stamp[64];
  std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(millis));
  out += stamp;
}

void AppendHex(std::string& out, const char* prefix, unsigned char c) {
  char escaped[8];
  std::snprintf(escaped, sizeof escaped, "%s%02x", prefix, c);
  out += escaped;
}

// A JSON string. Bytes past ASCII are written as \u00XX (read as Latin-1): the line stays
// valid JSON whatever a client sent, and the bytes can still be told apart.
void AppendJsonString(std::string& out, std::string_view text) {
  out += '"';
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c >= 0x7f) {
      AppendHex(out, "\\u00", c);
    } else {
      out += ch;
    }
  }
  out += '"';
}

// Text log fields: control bytes as \xHH, and quotes and backslashes escaped, so that a
// field can neither end the line nor the quoted request.
void AppendTextField(std::string& out, std::string_view text) {
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20 || c == 0x7f) {
      AppendHex(out, "\\x", c);
    } else {
      out += ch;
    }
  }
}

void Write(const std::string& line) {
  [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace

std::optional<LogLevel> ParseLogLevel(std::string_view name) {
  for (int i = 0; i < 4; ++i) {
    if (name == kLevelNames[i]) return static_cast<LogLevel>(i);
  }
  return std::nullopt;
}

std::optional<LogFormat> ParseLogFormat(std::string_view name) {
  for (int i = 0; i < 2; ++i) {
    if (name == kFormatNames[i]) return static_cast<LogFormat>(i);
  }
  return std::nullopt;
}

void SetLogLevel(LogLevel level) { g_level = static_cast<int>(level); }
void SetLogFormat(LogFormat format) { g_format = static_cast<int>(format); }

bool LogEnabled(LogLevel level) {
  return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed);
}

void Log(LogLevel level, std::string_view message) {
  if (!LogEnabled(level)) return;
  const char* level_name = kLevelNames[static_cast<int>(level)];
  std::string line;
  line.reserve(message.size() + 64);
  if (CurrentFormat() == LogFormat::kJson) {
    line += "{\"time\":\"";
    AppendTime(line, std::chrono::system_clock::now());
    line += "\",\"level\":\"";
    line += level_name;
    line += "\",\"message\":";
    AppendJsonString(line, message);
    line += "}\n";
  } else {
    AppendTime(line, std::chrono::system_clock::now());
    line += ' ';
    line += level_name;
    line += ' ';
    line += message;
    line += '\n';
  }
  Write(line);
}

std::string FormatAccessLine(const AccessRecord& record, LogFormat format) {
  const std::string target = RedactToken(record.target);
  char duration[32];
  std::snprintf(duration, sizeof duration, "%.3f",
                std::chrono::duration<double, std::milli>(record.duration).count());
  std::string line;
  line.reserve(target.size() + 192);
  if (format == LogFormat::kJson) {
    line += "{\"time\":\"";
    AppendTime(line, record.time);
    line += "\",\"level\":\"info\",\"request_id\":";
    AppendJsonString(line, record.request_id);
    line += ",\"client\":";
    AppendJsonString(line, record.client);
    line += ",\"method\":";
    AppendJsonString(line, record.method);
    line += ",\"path\":";
    AppendJsonString(line, target);
    line += ",\"status\":" + std::to_string(record.status);
    line += ",\"bytes\":" + std::to_string(record.bytes);
    line += ",\"duration_ms\":";
    line += duration;
    line += "}\n";
    return line;
  }
  AppendTime(line, record.time);
  line += " info ";
  AppendTextField(line, record.client);
  line += " \"";
  AppendTextField(line, record.method);
  line += ' ';
  AppendTextField(line, target);
  line += "\" " + std::to_string(record.status) + ' ' + std::to_string(record.bytes) + ' ';
  line += duration;
  line += "ms ";
  AppendTextField(line, record.request_id);
  line += '\n';
  return line;
}

void LogAccess(const AccessRecord& record) {
  if (LogEnabled(LogLevel::kInfo)) Write(FormatAccessLine(record, CurrentFormat()));
}

std::string RedactToken(std::string_view target) {
  std::string out(target);
  std::size_t pos = out.find('?');
  while (pos != std::string::npos) {
    if (out.compare(pos + 1, 6, "token=") == 0) {
      const std::size_t start = pos + 7;
      const std::size_t end = std::min(out.find('&', start), out.size());
      out.replace(start, end - start, "***");
    }
    pos = out.find('&', pos + 1);
  }
  return out;
}

}  // namespace livefeed
