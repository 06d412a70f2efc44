#include "transport/json_reader.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "transport/form_decoding.h"

namespace livefeed {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The four hex digits at `at`, or -1.
long Hex4(std::string_view text, std::size_t at) {
  if (at + 4 > text.size()) return -1;
  long value = 0;
  for (std::size_t i = at; i < at + 4; ++i) {
    const int digit = HexDigit(text[i]);
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

void AppendUtf8(std::string& out, unsigned long code) {
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else if (code < 0x800) {
    out += static_cast<char>(0xC0 | (code >> 6));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else if (code < 0x10000) {
    out += static_cast<char>(0xE0 | (code >> 12));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code >> 18));
    out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  }
}

}  // namespace

bool JsonReader::Fail(const std::string& what) {
  if (error_.empty()) error_ = "parse error at byte " + std::to_string(pos_) + ": " + what;
  return false;
}

void JsonReader::SkipSpace() {
  while (pos_ < text_.size() && IsSpace(text_[pos_])) ++pos_;
}

char JsonReader::Peek() {
  SkipSpace();
  return pos_ < text_.size() ? text_[pos_] : '\0';
}

bool JsonReader::Consume(char c) {
  if (Peek() != c || pos_ >= text_.size()) return false;
  ++pos_;
  return true;
}

bool JsonReader::AtEnd() {
  SkipSpace();
  return pos_ == text_.size();
}

bool JsonReader::ReadNull() {
  if (text_.substr(pos_, 4) != "null") return Fail("expected null");
  pos_ += 4;
  return true;
}

bool JsonReader::ReadString(std::string& out) {
  if (Peek() != '"') return Fail("expected a string");
  const std::size_t start = pos_;
  if (!CopyString(nullptr)) return false;
  // Checked: now unescape the token into `out`.
  const std::string_view token = text_.substr(start + 1, pos_ - start - 2);
  out.clear();
  out.reserve(token.size());
  for (std::size_t i = 0; i < token.size(); ++i) {
    if (token[i] != '\\') {
      out += token[i];
      continue;
    }
    const char e = token[++i];
    switch (e) {
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        unsigned long code = static_cast<unsigned long>(Hex4(token, i + 1));
        i += 4;
        if (code >= 0xD800 && code <= 0xDBFF) {
          const auto low = static_cast<unsigned long>(Hex4(token, i + 3));
          code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
          i += 6;
        }
        AppendUtf8(out, code);
        break;
      }
      default:
        out += e;  // " \ /
    }
  }
  return true;
}

bool JsonReader::CopyString(std::string* out) {
  const std::size_t start = pos_;
  std::size_t i = pos_ + 1;
  for (;; ++i) {
    if (i >= text_.size()) return Fail("unterminated string");
    const auto c = static_cast<unsigned char>(text_[i]);
    if (c == '"') break;
    if (c < 0x20) {
      pos_ = i;
      return Fail("control character in a string");
    }
    if (c != '\\') continue;
    const char e = i + 1 < text_.size() ? text_[i + 1] : '\0';
    if (e == 'u') {
      const long code = Hex4(text_, i + 2);
      if (code < 0) return pos_ = i, Fail("bad \\u escape");
      // A high surrogate must be followed by a low one; a low one alone is no character.
      if (code >= 0xDC00 && code <= 0xDFFF) return pos_ = i, Fail("lone low surrogate");
      if (code >= 0xD800 && code <= 0xDBFF) {
        const long low = text_.substr(i + 6, 2) == "\\u" ? Hex4(text_, i + 8) : -1;
        if (low < 0xDC00 || low > 0xDFFF) return pos_ = i, Fail("unpaired high surrogate");
        i += 6;
      }
      i += 5;
    } else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' ||
               e == 't') {
      ++i;
    } else {
      pos_ = i;
      return Fail("bad escape");
    }
  }
  if (!IsValidUtf8(text_.substr(start + 1, i - start - 1))) {
    pos_ = start;
    return Fail("invalid UTF-8 in a string");
  }
  pos_ = i + 1;
  if (out) out->append(text_.substr(start, pos_ - start));
  return true;
}

bool JsonReader::CopyNumber(std::string& out) {
  const std::size_t start = pos_;
  std::size_t i = pos_;
  if (i < text_.size() && text_[i] == '-') ++i;
  if (i < text_.size() && text_[i] == '0') {
    ++i;
  } else if (i < text_.size() && IsDigit(text_[i])) {
    while (i < text_.size() && IsDigit(text_[i])) ++i;
  } else {
    return Fail("malformed number");
  }
  const std::size_t integer_end = i;
  if (i < text_.size() && text_[i] == '.') {
    if (++i >= text_.size() || !IsDigit(text_[i])) return pos_ = i, Fail("malformed number");
    while (i < text_.size() && IsDigit(text_[i])) ++i;
  }
  if (i < text_.size() && (text_[i] == 'e' || text_[i] == 'E')) {
    ++i;
    if (i < text_.size() && (text_[i] == '+' || text_[i] == '-')) ++i;
    if (i >= text_.size() || !IsDigit(text_[i])) return pos_ = i, Fail("malformed number");
    while (i < text_.size() && IsDigit(text_[i])) ++i;
  }
  // An integer (no fraction, no exponent) of fewer than 300 digits is finite as a double;
  // anything else is read to know.
  double value = 0;
  if (i != integer_end || i - start >= 300) {
    const auto [end, ec] = std::from_chars(text_.data() + start, text_.data() + i, value);
    // Readers turn 1e999 into infinity or an error: refused here, like any unreadable value.
    if (ec == std::errc::result_out_of_range || !std::isfinite(value)) {
      return Fail("number out of range");
    }
  }
  out.append(text_.substr(start, i - start));
  pos_ = i;
  return true;
}

bool JsonReader::CopyLiteral(std::string& out) {
  for (std::string_view literal : {"true", "false", "null"}) {
    if (text_.substr(pos_, literal.size()) == literal) {
      out.append(literal);
      pos_ += literal.size();
      return true;
    }
  }
  return Fail("unexpected character");
}

bool JsonReader::ReadValue(std::string& out, int depth) {
  // Iterative: what is expected next, and the containers open (open_), so that no input
  // can make this recurse.
  enum class Expect { kValue, kValueOrClose, kKeyOrClose, kKey, kColon, kCommaOrClose };
  Expect expect = Expect::kValue;
  open_.clear();
  // Room for a usual value at once, rather than growing by doubling from a few bytes; a
  // value can be no longer than what is left of the text.
  constexpr std::size_t kUsualValueBytes = 256;
  out.reserve(out.size() + std::min(text_.size() - pos_, kUsualValueBytes));
  for (;;) {
    const char c = Peek();
    if (c == '\0' && pos_ >= text_.size()) return Fail("unexpected end of input");
    bool scalar_done = false;
    switch (expect) {
      case Expect::kValueOrClose:
        if (c == ']') {
          ++pos_;
          out += ']';
          open_.pop_back();
          scalar_done = true;
          break;
        }
        [[fallthrough]];
      case Expect::kValue:
        if (c == '{' || c == '[') {
          if (depth + static_cast<int>(open_.size()) + 1 > max_depth_) {
            return Fail("JSON nested deeper than " + std::to_string(max_depth_) + " levels");
          }
          open_.push_back(c);
          out += c;
          ++pos_;
          expect = c == '{' ? Expect::kKeyOrClose : Expect::kValueOrClose;
          continue;
        }
        if (c == '"') {
          if (!CopyString(&out)) return false;
        } else if (c == '-' || IsDigit(c)) {
          if (!CopyNumber(out)) return false;
        } else if (!CopyLiteral(out)) {
          return false;
        }
        scalar_done = true;
        break;
      case Expect::kKeyOrClose:
        if (c == '}') {
          ++pos_;
          out += '}';
          open_.pop_back();
          scalar_done = true;
          break;
        }
        [[fallthrough]];
      case Expect::kKey:
        if (c != '"') return Fail("expected a member name");
        if (!CopyString(&out)) return false;
        expect = Expect::kColon;
        continue;
      case Expect::kColon:
        if (c != ':') return Fail("expected ':'");
        ++pos_;
        out += ':';
        expect = Expect::kValue;
        continue;
      case Expect::kCommaOrClose: {
        const char close = open_.back() == '{' ? '}' : ']';
        if (c == ',') {
          ++pos_;
          out += ',';
          expect = open_.back() == '{' ? Expect::kKey : Expect::kValue;
          continue;
        }
        if (c != close) return Fail(std::string("expected ',' or '") + close + "'");
        ++pos_;
        out += close;
        open_.pop_back();
        scalar_done = true;
        break;
      }
    }
    if (scalar_done) {
      if (open_.empty()) return true;
      expect = Expect::kCommaOrClose;
    }
  }
}

}  // namespace livefeed
