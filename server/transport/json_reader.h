// Reads JSON text (RFC 8259) in one pass without building a tree: a publish body is
// checked, and each item's data copied in compact form (whitespace between tokens dropped,
// everything else as sent), without a parsed document and its allocations.
//   - Strings must be valid UTF-8 with valid escapes (paired surrogates); numbers follow
//     the grammar and must be finite as doubles; nesting is bounded and handled with an
//     explicit stack, never recursion, whatever the input.
// Not thread-safe: one reader per text.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace livefeed {

class JsonReader {
 public:
  JsonReader(std::string_view text, int max_depth) : text_(text), max_depth_(max_depth) {}

  // The next character after whitespace, or '\0' at the end (consumed by nothing).
  char Peek();
  // Consumes `c` (after whitespace) if it is next.
  bool Consume(char c);
  // Nothing but whitespace is left.
  bool AtEnd();

  // A string token, unescaped into `out`.
  bool ReadString(std::string& out);
  // One whole value (scalar, object or array, nested within `depth` levels already open),
  // appended to `out` in compact form.
  bool ReadValue(std::string& out, int depth);
  // The literal null.
  bool ReadNull();

  // What went wrong (empty while nothing has): "parse error at byte N: ...".
  const std::string& error() const { return error_; }
  bool Fail(const std::string& what);

 private:
  void SkipSpace();
  // Copies a string token as sent (escapes kept) after checking it; `out` may be null.
  bool CopyString(std::string* out);
  bool CopyNumber(std::string& out);
  bool CopyLiteral(std::string& out);

  std::string_view text_;
  std::size_t pos_ = 0;
  const int max_depth_;
  std::string error_;
  // The containers ReadValue has open: '{' or '['. A string, whose inline room holds the
  // usual few levels without an allocation.
  std::string open_;
};

}  // namespace livefeed
