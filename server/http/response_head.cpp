#include "http/response_head.h"

#include <algorithm>
#include <cctype>

#include "core/decimal.h"

namespace livefeed {
namespace {

bool SafeName(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
}

bool SafeValue(std::string_view value) {
  return std::none_of(value.begin(), value.end(),
                      [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

void AppendField(std::string& out, std::string_view name, std::string_view value) {
  if (!SafeName(name) || !SafeValue(value)) return;
  out += name;
  out += ": ";
  out += value;
  out += "\r\n";
}

}  // namespace

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 416:
      return "Range Not Satisfiable";
    case 417:
      return "Expectation Failed";
    case 422:
      return "Unprocessable Content";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    case 507:
      return "Insufficient Storage";
    default:
      return "Unknown";
  }
}

std::string FormatResponseHead(const ResponseHead& head) {
  std::string out;
  out.reserve(192 + head.extra_lines.size());
  AppendResponseHead(out, head);
  return out;
}

void AppendResponseHead(std::string& out, const ResponseHead& head) {
  out += "HTTP/1.1 ";
  AppendDecimal(out, head.status);
  out += ' ';
  out += ReasonPhrase(head.status);
  out += "\r\n";
  if (!head.content_type.empty()) AppendField(out, "Content-Type", head.content_type);
  if (head.fields) {
    for (const auto& [name, value] : *head.fields) AppendField(out, name, value);
  }
  out += head.extra_lines;
  switch (head.body) {
    case ResponseHead::Body::kLength:
      out += "Content-Length: ";
      AppendDecimal(out, head.content_length);
      out += "\r\n";
      break;
    case ResponseHead::Body::kChunked:
      out += "Transfer-Encoding: chunked\r\n";
      break;
    case ResponseHead::Body::kNone:
      break;
  }
  if (head.close) {
    out += "Connection: close\r\n";
  } else {
    // Said outright, as nginx does: an HTTP/1.0 client keeps the connection only when the
    // answer names keep-alive in Connection (RFC 9112 section C.2.2).
    out += "Connection: keep-alive\r\nKeep-Alive: timeout=";
    AppendDecimal(out, head.keep_alive.count());
    out += "\r\n";
  }
  out += "\r\n";
}

}  // namespace livefeed
