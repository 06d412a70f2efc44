#include "http/request_parser.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>

#include "core/ascii.h"

namespace livefeed {
namespace {

// RFC 9110 token characters (method, field names), as a table: this runs for every byte
// of every field name.
constexpr std::array<bool, 256> kTokenChars = [] {
  std::array<bool, 256> table{};
  for (int c = '0'; c <= '9'; ++c) table[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) table[c] = table[c - 'a' + 'A'] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) table[static_cast<unsigned char>(c)] = true;
  return table;
}();

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!kTokenChars[static_cast<unsigned char>(c)]) return false;
  }
  return true;
}

// Eight bytes at a time (SWAR, as in "Bit Twiddling Hacks"): each is nonzero when some byte
// of `x` is below `n` (n <= 128), equal to `c`, or above `n` (n <= 127). Exact as to
// whether one exists, which is all that is asked.
constexpr std::uint64_t kEachByte = 0x0101010101010101ull;
constexpr std::uint64_t kHighBits = 0x8080808080808080ull;
constexpr std::uint64_t AnyBelow(std::uint64_t x, unsigned n) {
  return (x - kEachByte * n) & ~x & kHighBits;
}
constexpr std::uint64_t AnyEqual(std::uint64_t x, unsigned char c) {
  return AnyBelow(x ^ (kEachByte * c), 1);
}
constexpr std::uint64_t AnyAbove(std::uint64_t x, unsigned n) {
  return ((x + kEachByte * (127 - n)) | x) & kHighBits;
}

// True if `byte_ok(text, i)` holds at every position. Runs of eight that `plain` vouches
// for (every byte one that byte_ok accepts wherever it stands) are passed at once: field
// values and targets are long, and this runs for each of their bytes.
template <typename Plain, typename ByteOk>
bool AllBytes(std::string_view text, Plain plain, ByteOk byte_ok) {
  std::size_t i = 0;
  for (; i + sizeof(std::uint64_t) <= text.size(); i += sizeof(std::uint64_t)) {
    std::uint64_t eight;
    std::memcpy(&eight, text.data() + i, sizeof eight);
    if (plain(eight)) continue;
    for (std::size_t k = i; k < i + sizeof eight; ++k) {
      if (!byte_ok(text, k)) return false;
    }
  }
  for (; i < text.size(); ++i) {
    if (!byte_ok(text, i)) return false;
  }
  return true;
}

// Field values: visible ASCII, obs-text, space and tab. No NUL, CR, LF or other controls.
bool IsFieldValue(std::string_view s) {
  return AllBytes(
      s, [](std::uint64_t x) { return (AnyBelow(x, 0x20) | AnyEqual(x, 0x7f)) == 0; },
      [](std::string_view text, std::size_t i) {
        const auto c = static_cast<unsigned char>(text[i]);
        return c < 0x20 ? c == '\t' : c != 0x7f;
      });
}

// ASCII digits only, whatever the locale (and no <cctype> call on a byte that may be
// negative as a char).
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHex(char c) { return IsDigit(c) || (AsciiLower(c) >= 'a' && AsciiLower(c) <= 'f'); }

std::uint64_t HexValue(char c) {
  return static_cast<std::uint64_t>(IsDigit(c) ? c - '0' : AsciiLower(c) - 'a' + 10);
}

// An origin-form target: visible ASCII only (no spaces, controls, raw non-ASCII or
// fragment), percent escapes well formed.
bool IsValidTarget(std::string_view t) {
  return AllBytes(
      t,
      [](std::uint64_t x) {
        return (AnyBelow(x, 0x21) | AnyAbove(x, 0x7e) | AnyEqual(x, '#') | AnyEqual(x, '%')) == 0;
      },
      [](std::string_view text, std::size_t i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c <= 0x20 || c >= 0x7f || c == '#') return false;
        return c != '%' || (i + 2 < text.size() && IsHex(text[i + 1]) && IsHex(text[i + 2]));
      });
}

// The known fields' names, lower-case, in the order of KnownField.
constexpr std::array<std::string_view, kKnownFields> kKnownNames = {
    "host",       "content-length", "transfer-encoding", "content-type",    "content-encoding",
    "expect",     "authorization",  "idempotency-key",   "origin",          "last-event-id",
    "connection", "x-request-id",   "x-real-ip",         "x-forwarded-for", "accept-encoding"};

KnownField ClassifyField(std::string_view name) {
  for (std::size_t i = 0; i < kKnownNames.size(); ++i) {
    if (EqualsIgnoreCase(name, kKnownNames[i])) return static_cast<KnownField>(i);
  }
  return KnownField::kOther;
}

bool MayRepeat(KnownField field) { return field >= KnownField::kConnection; }

constexpr std::size_t kMaxLeadingBlankLines = 4;

}  // namespace

std::string_view RequestHead::path() const {
  const std::string_view t = target();
  return t.substr(0, t.find('?'));
}

std::string_view RequestHead::query() const {
  const std::string_view t = target();
  const std::size_t q = t.find('?');
  return q == std::string_view::npos ? std::string_view() : t.substr(q + 1);
}

std::optional<std::string_view> RequestHead::Get(std::string_view name) const {
  if (const KnownField known = ClassifyField(name); known != KnownField::kOther) {
    return Get(known);
  }
  for (const FieldSpan& f : fields_) {
    if (f.name.len == name.size() && EqualsIgnoreCase(View(f.name), name)) return View(f.value);
  }
  return std::nullopt;
}

bool RequestParser::Fail(int status, std::string message) {
  state_ = State::kError;
  error_status_ = status;
  error_message_ = std::move(message);
  return false;
}

void RequestParser::Reset() {
  state_ = State::kHead;
  started_ = false;
  head_ = RequestHead();
  scanned_ = 0;
  line_start_ = 0;
  head_begin_ = 0;
  blank_lines_ = 0;
  body_limit_ = 0;
  remaining_ = 0;
  chunk_step_ = ChunkStep::kSize;
  line_.clear();
  line_done_ = false;
  trailer_bytes_ = 0;
  body_.clear();
}

void RequestParser::Recycle(RequestHead used) {
  constexpr std::size_t kKeptBytes = 4096;
  if (state_ != State::kHead || !head_.raw_.empty() || used.raw_.capacity() > kKeptBytes) return;
  head_.raw_ = std::move(used.raw_);
  head_.raw_.clear();
  head_.fields_ = std::move(used.fields_);
  head_.fields_.clear();
}

std::size_t RequestParser::Feed(std::string_view data) {
  switch (state_) {
    case State::kHead:
      return FeedHead(data);
    case State::kBody:
      return head_.chunked_ ? FeedChunked(data) : FeedBody(data);
    default:
      return 0;
  }
}

std::size_t RequestParser::FeedHead(std::string_view data) {
  std::string& raw = head_.raw_;
  const std::size_t before = raw.size();
  if (before == 0) raw.reserve(512);
  // One byte past the limit is enough to know the head is too large.
  const std::size_t room = limits_.max_head_bytes + 1 - std::min(before, limits_.max_head_bytes);
  const std::size_t appended = std::min(room, data.size());
  raw.append(data.substr(0, appended));
  // Line by line (memchr finds the ends): each line must end in CRLF, hold no other CR,
  // and stay within the line limit.
  while (scanned_ < raw.size()) {
    const char* begin = raw.data() + line_start_;
    const char* lf =
        static_cast<const char*>(std::memchr(raw.data() + scanned_, '\n', raw.size() - scanned_));
    const std::size_t end = lf ? static_cast<std::size_t>(lf - raw.data()) : raw.size();
    // The line so far, without the CR that must end it.
    const std::size_t length = end - line_start_ - (lf && end > line_start_ ? 1 : 0);
    if (length > limits_.max_line_bytes) {
      const bool first = line_start_ == head_begin_;
      return Fail(first ? 414 : 431, first ? "request line too long" : "header line too long"),
             appended;
    }
    if (!lf) {
      if (std::memchr(begin, '\r', raw.size() - line_start_ - (raw.back() == '\r' ? 1 : 0))) {
        return Fail(400, "bare CR in the request head"), appended;
      }
      if (raw.size() > line_start_ && raw[line_start_] != '\r') started_ = true;
      scanned_ = raw.size();
      break;
    }
    if (end == line_start_ || raw[end - 1] != '\r') {
      return Fail(400, "bare LF in the request head"), appended;
    }
    if (std::memchr(begin, '\r', length)) return Fail(400, "bare CR in the request head"), appended;
    scanned_ = line_start_ = end + 1;
    if (length > 0) {
      started_ = true;
      continue;
    }
    if (end - 1 == head_begin_) {
      // An empty line before the request line (RFC 9112 2.2): skipped, a few at most.
      if (++blank_lines_ > kMaxLeadingBlankLines) {
        return Fail(400, "blank lines before the request line"), appended;
      }
      head_begin_ = line_start_;
      continue;
    }
    // The blank line that ends the head.
    raw.resize(end + 1);
    ParseHead();
    return end + 1 - before;
  }
  if (raw.size() > limits_.max_head_bytes) {
    return Fail(431,
                "request head larger than " + std::to_string(limits_.max_head_bytes) + " bytes"),
           appended;
  }
  return appended;
}

bool RequestParser::ParseHead() {
  const std::string& raw = head_.raw_;
  const std::size_t pos = raw.find("\r\n", head_begin_);
  if (!ParseRequestLine(std::string_view(raw).substr(head_begin_, pos - head_begin_))) {
    return false;
  }
  std::size_t count = 0;
  for (std::size_t start = pos + 2; start + 2 <= raw.size();) {
    const std::size_t end = raw.find("\r\n", start);
    if (end == start) break;  // The blank line that ends the head.
    if (++count > limits_.max_fields) {
      return Fail(431, "more than " + std::to_string(limits_.max_fields) + " header fields");
    }
    if (!ParseField(std::string_view(raw).substr(start, end - start),
                    static_cast<std::uint32_t>(start))) {
      return false;
    }
    start = end + 2;
  }
  if (!CheckFraming()) return false;
  state_ = State::kReady;
  return true;
}

bool RequestParser::ParseRequestLine(std::string_view line) {
  const std::size_t sp1 = line.find(' ');
  const std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return Fail(400, "malformed request line");
  }
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  // The version first: a request of another version is refused as such whatever its line
  // holds (HTTP/2's connection preface, "PRI * HTTP/2.0", is 505, not a bad target).
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || !IsDigit(version[5]) ||
      version[6] != '.' || !IsDigit(version[7])) {
    return Fail(400, "malformed HTTP version");
  }
  if (version[5] != '1' || (version[7] != '0' && version[7] != '1')) {
    return Fail(505, "only HTTP/1.0 and HTTP/1.1 are supported");
  }
  if (!IsToken(method) || method.size() > 20) return Fail(400, "malformed request method");
  if (target.empty() || !IsValidTarget(target)) return Fail(400, "malformed request target");
  // Only the origin form (a path), or "*" for OPTIONS: this is no proxy.
  if (target[0] != '/' && !(target == "*" && method == "OPTIONS")) {
    return Fail(400, "the request target must be a path starting with /");
  }
  const auto begin = static_cast<std::uint32_t>(head_begin_);
  head_.method_ = {begin, static_cast<std::uint32_t>(method.size())};
  head_.target_ = {static_cast<std::uint32_t>(begin + sp1 + 1),
                   static_cast<std::uint32_t>(target.size())};
  head_.minor_version_ = version[7] - '0';
  return true;
}

bool RequestParser::ParseField(std::string_view line, std::uint32_t offset) {
  if (line[0] == ' ' || line[0] == '\t') return Fail(400, "obsolete line folding in a header");
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return Fail(400, "a header line without a colon");
  const std::string_view name = line.substr(0, colon);
  // Whitespace before the colon is refused (RFC 9112 5.1): it has been used for smuggling.
  if (!IsToken(name)) return Fail(400, "malformed header name");
  const std::string_view raw_value = line.substr(colon + 1);
  if (!IsFieldValue(raw_value)) {
    return Fail(400, "control characters in the value of header '" + std::string(name) + "'");
  }
  const std::string_view value = TrimOws(raw_value);
  const auto value_pos = static_cast<std::uint32_t>(offset + (value.data() - line.data()));
  if (const KnownField known = ClassifyField(name); known != KnownField::kOther) {
    std::uint32_t& first = head_.first_[static_cast<std::size_t>(known)];
    if (first != 0 && !MayRepeat(known)) {
      return Fail(400, "more than one " +
                           std::string(kKnownNames[static_cast<std::size_t>(known)]) + " header");
    }
    if (first == 0) first = static_cast<std::uint32_t>(head_.fields_.size() + 1);
  }
  // Room for a usual request's fields at once, rather than growing by doubling.
  if (head_.fields_.empty()) head_.fields_.reserve(16);
  head_.fields_.push_back({{offset, static_cast<std::uint32_t>(name.size())},
                           {value_pos, static_cast<std::uint32_t>(value.size())}});
  return true;
}

bool RequestParser::CheckFraming() {
  // A field that may not repeat was refused as it came (ParseField).
  RequestHead& h = head_;
  if (h.minor_version_ == 1 && !h.Get(KnownField::kHost)) {
    return Fail(400, "an HTTP/1.1 request needs Host");
  }

  const auto length = h.Get(KnownField::kContentLength);
  const auto coding = h.Get(KnownField::kTransferEncoding);
  if (length && coding) return Fail(400, "both Content-Length and Transfer-Encoding");
  if (length) {
    if (length->empty() || length->size() > 18 ||
        !std::all_of(length->begin(), length->end(), IsDigit)) {
      return Fail(400, "invalid Content-Length");
    }
    std::uint64_t n = 0;
    for (char c : *length) n = n * 10 + static_cast<std::uint64_t>(c - '0');
    h.content_length_ = n;
  }
  if (coding) {
    // Only a single "chunked": any other coding (or list) is a framing we cannot vouch for.
    if (h.minor_version_ == 0 || !EqualsIgnoreCase(*coding, "chunked")) {
      return Fail(400, "Transfer-Encoding must be exactly 'chunked'");
    }
    h.chunked_ = true;
  }

  h.keep_alive_ = h.minor_version_ == 1;
  if (const auto connection = h.Get(KnownField::kConnection)) {
    std::string_view rest = *connection;
    while (!rest.empty()) {
      const std::size_t comma = rest.find(',');
      const std::string_view option = TrimOws(rest.substr(0, comma));
      if (EqualsIgnoreCase(option, "close")) h.keep_alive_ = false;
      if (EqualsIgnoreCase(option, "keep-alive") && h.minor_version_ == 0) h.keep_alive_ = true;
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
  }
  if (const auto expect = h.Get(KnownField::kExpect)) {
    if (!EqualsIgnoreCase(*expect, "100-continue")) return Fail(417, "unsupported Expect");
    h.expects_continue_ = true;
  }
  return true;
}

void RequestParser::ExpectBody(std::size_t max_body) {
  body_limit_ = max_body;
  if (head_.chunked_) {
    state_ = State::kBody;
    return;
  }
  const std::uint64_t length = head_.content_length_.value_or(0);
  if (length > max_body) {
    Fail(413, "body larger than " + std::to_string(max_body) + " bytes");
    return;
  }
  remaining_ = length;
  body_.reserve(length);
  state_ = length == 0 ? State::kDone : State::kBody;
}

std::size_t RequestParser::FeedBody(std::string_view data) {
  const std::size_t take =
      static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, data.size()));
  body_.append(data.substr(0, take));
  remaining_ -= take;
  if (remaining_ == 0) state_ = State::kDone;
  return take;
}

std::size_t RequestParser::ReadLine(std::string_view data, std::size_t max, int status,
                                    const char* what) {
  line_done_ = false;
  std::size_t i = 0;
  for (; i < data.size(); ++i) {
    const char c = data[i];
    if (c == '\n') {
      if (line_.empty() || line_.back() != '\r') return Fail(400, "bare LF in chunked framing"), i;
      line_.pop_back();
      line_done_ = true;
      return i + 1;
    }
    if (!line_.empty() && line_.back() == '\r') return Fail(400, "bare CR in chunked framing"), i;
    line_ += c;
    // The line's CR does not count against it.
    if (line_.size() > max + 1 || (line_.size() == max + 1 && c != '\r')) {
      return Fail(status, what), i;
    }
  }
  return i;
}

std::size_t RequestParser::FeedChunked(std::string_view data) {
  std::size_t used = 0;
  while (used < data.size() && state_ == State::kBody) {
    const std::string_view rest = data.substr(used);
    switch (chunk_step_) {
      case ChunkStep::kSize: {
        used += ReadLine(rest, limits_.max_chunk_line_bytes, 400, "chunk-size line too long");
        if (!line_done_) break;
        std::size_t digits = 0;
        std::uint64_t size = 0;
        while (digits < line_.size() && IsHex(line_[digits])) {
          // 15 hex digits already exceed any body we take: refuse before it overflows.
          if (++digits > 15) return Fail(413, "chunk larger than the body limit"), used;
          size = size * 16 + HexValue(line_[digits - 1]);
        }
        const std::string_view ext = TrimOws(std::string_view(line_).substr(digits));
        if (digits == 0 || (!ext.empty() && ext[0] != ';') || !IsFieldValue(ext)) {
          return Fail(400, "malformed chunk size"), used;
        }
        line_.clear();
        if (size == 0) {
          chunk_step_ = ChunkStep::kTrailer;
        } else if (body_.size() + size > body_limit_) {
          return Fail(413, "body larger than " + std::to_string(body_limit_) + " bytes"), used;
        } else {
          remaining_ = size;
          chunk_step_ = ChunkStep::kData;
        }
        break;
      }
      case ChunkStep::kData: {
        const std::size_t take =
            static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, rest.size()));
        body_.append(rest.substr(0, take));
        remaining_ -= take;
        used += take;
        if (remaining_ == 0) chunk_step_ = ChunkStep::kDataEnd;
        break;
      }
      case ChunkStep::kDataEnd:
        used += ReadLine(rest, 0, 400, "chunk data longer than its size");
        if (line_done_) chunk_step_ = ChunkStep::kSize;
        break;
      case ChunkStep::kTrailer: {
        used += ReadLine(rest, limits_.max_line_bytes, 431, "trailer line too long");
        if (!line_done_) break;
        if (line_.empty()) {
          state_ = State::kDone;
          chunk_step_ = ChunkStep::kSize;
          break;
        }
        // Trailers are read and dropped, but only if well formed and bounded.
        trailer_bytes_ += line_.size() + 2;
        const std::size_t colon = line_.find(':');
        if (colon == std::string::npos || !IsToken(std::string_view(line_).substr(0, colon)) ||
            !IsFieldValue(std::string_view(line_).substr(colon + 1))) {
          return Fail(400, "malformed trailer field"), used;
        }
        if (trailer_bytes_ > limits_.max_head_bytes) return Fail(431, "trailers too large"), used;
        line_.clear();
        break;
      }
    }
  }
  return used;
}

}  // namespace livefeed
