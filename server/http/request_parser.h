// The front door: strict, bounded, incremental framing of HTTP/1.1 requests (RFC 9112).
// Every byte a client sends passes through here before anything else looks at it;
// cpp-httplib only ever sees a request re-written from what this parser accepted.
//   1. Feed() takes bytes as they arrive and scans for the end of the head, refusing a bare
//      LF or CR, an oversized line or head, as soon as it sees one.
//   2. With the head whole it validates the request line and every field line and stops
//      with kHead: the caller decides (route, limits, auth) before a byte of body is read,
//      and calls ExpectBody() to go on or refuses and closes.
//   3. The body is read by Content-Length or de-chunked, never beyond `max_body` decoded
//      bytes, and the parser stops with kDone; Reset() readies it for the next request.
// Any error is final for the connection: its status says why (400, 408 is the caller's,
// 413, 414, 431, 501, 505) and the connection must be closed after answering.
// Not thread-safe: one per connection.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace livefeed {

struct ParserLimits {
  std::size_t max_head_bytes = 32 * 1024;  // Request line and all fields: beyond, 431.
  std::size_t max_line_bytes = 8 * 1024;   // The request line (414) or one field (431).
  std::size_t max_fields = 100;            // Field lines: beyond, 431.
  std::size_t max_chunk_line_bytes = 64;   // A chunk-size line, extensions included.
};

// The fields the server itself reads. The head notes where each first appears as it is
// parsed, so that looking one up is an index, not a scan of every field (a publish looks
// up some fifteen).
enum class KnownField : std::uint8_t {
  // Fields whose repetition would make the request ambiguous (two parties could each pick
  // a different one): a second one is refused rather than guessed.
  kHost,
  kContentLength,
  kTransferEncoding,
  kContentType,
  kContentEncoding,
  kExpect,
  kAuthorization,
  kIdempotencyKey,
  kOrigin,
  kLastEventId,
  // Fields that may repeat; the first one is read.
  kConnection,
  kXRequestId,
  kXRealIp,
  kXForwardedFor,
  kAcceptEncoding,
  kOther,  // Any other name; not indexed.
};
inline constexpr std::size_t kKnownFields = static_cast<std::size_t>(KnownField::kOther);

// The request head as accepted. Views point into `raw`, which the head owns: move it,
// never copy it piecewise.
class RequestHead {
 public:
  RequestHead() = default;
  RequestHead(RequestHead&&) = default;
  RequestHead& operator=(RequestHead&&) = default;
  RequestHead(const RequestHead&) = delete;
  RequestHead& operator=(const RequestHead&) = delete;

  std::string_view method() const { return View(method_); }
  std::string_view target() const { return View(target_); }
  // The target up to '?', exactly as sent (no percent-decoding).
  std::string_view path() const;
  // After '?', or empty.
  std::string_view query() const;
  int minor_version() const { return minor_version_; }  // HTTP/1.<minor>

  struct Field {
    std::string_view name, value;  // value without surrounding whitespace
  };
  std::size_t field_count() const { return fields_.size(); }
  Field field(std::size_t i) const { return {View(fields_[i].name), View(fields_[i].value)}; }
  // The value of the field `name` (case-insensitive); the first one if repeated.
  std::optional<std::string_view> Get(std::string_view name) const;
  std::optional<std::string_view> Get(KnownField field) const {
    const std::uint32_t slot = first_[static_cast<std::size_t>(field)];
    if (slot == 0) return std::nullopt;
    return View(fields_[slot - 1].value);
  }

  // Framing, as validated.
  bool chunked() const { return chunked_; }
  std::optional<std::uint64_t> content_length() const { return content_length_; }
  bool declares_body() const { return chunked_ || (content_length_ && *content_length_ > 0); }
  bool keep_alive() const { return keep_alive_; }
  bool expects_continue() const { return expects_continue_; }

 private:
  friend class RequestParser;
  struct Span {
    std::uint32_t pos = 0, len = 0;
  };
  std::string_view View(Span s) const { return std::string_view(raw_).substr(s.pos, s.len); }

  std::string raw_;
  Span method_, target_;
  int minor_version_ = 1;
  struct FieldSpan {
    Span name, value;
  };
  std::vector<FieldSpan> fields_;
  // For each known field, 1 + the index in fields_ of its first line; 0 when absent.
  std::array<std::uint32_t, kKnownFields> first_{};
  bool chunked_ = false;
  std::optional<std::uint64_t> content_length_;
  bool keep_alive_ = true;
  bool expects_continue_ = false;
};

class RequestParser {
 public:
  enum class State {
    kHead,   // Reading the head.
    kReady,  // The head is whole: look at head(), then ExpectBody() or refuse.
    kBody,   // Reading the body.
    kDone,   // The request is whole: TakeBody(), then Reset() for the next one.
    kError,  // Refused: error_status() and error_message() say why. Close after answering.
  };

  explicit RequestParser(ParserLimits limits = {}) : limits_(limits) {}

  // Consumes from `data` what belongs to the current request and returns how many bytes it
  // took; stops at kReady, kDone or kError (the rest belongs to later).
  std::size_t Feed(std::string_view data);

  State state() const { return state_; }
  // True once any byte of the current request (a leading blank line aside) has arrived.
  bool started() const { return started_; }

  // The head, from kReady on.
  const RequestHead& head() const { return head_; }
  // Reads the body the head announced, refusing it past `max_body` decoded bytes (413).
  void ExpectBody(std::size_t max_body);
  // At kDone (or kReady, for a request without a body): the request, then Reset().
  RequestHead TakeHead() { return std::move(head_); }
  std::string TakeBody() { return std::move(body_); }

  void Reset();
  // Takes back a head taken with TakeHead() and done with, to read the next request into
  // its buffers: a connection sending request after request allocates for none of them.
  // Kept only while no next request has begun, and only if small.
  void Recycle(RequestHead used);

  int error_status() const { return error_status_; }
  const std::string& error_message() const { return error_message_; }

 private:
  std::size_t FeedHead(std::string_view data);
  std::size_t FeedBody(std::string_view data);
  std::size_t FeedChunked(std::string_view data);
  // Validates head_.raw_ (ending in CRLF CRLF) and fills head_; false after Fail().
  bool ParseHead();
  bool ParseRequestLine(std::string_view line);
  bool ParseField(std::string_view line, std::uint32_t offset);
  bool CheckFraming();
  // Reads a line of at most `max` bytes ending in CRLF into line_; 0 = need more.
  // Returns the bytes of `data` consumed; sets line_done_ when the line is whole.
  std::size_t ReadLine(std::string_view data, std::size_t max, int status, const char* what);
  bool Fail(int status, std::string message);

  const ParserLimits limits_;
  State state_ = State::kHead;
  bool started_ = false;
  RequestHead head_;
  std::size_t scanned_ = 0;     // Bytes of head_.raw_ already checked for bare CR/LF.
  std::size_t line_start_ = 0;  // Where the current line of head_.raw_ begins.
  std::size_t head_begin_ = 0;  // Where the request line begins (after blank lines).
  std::size_t blank_lines_ = 0;
  std::size_t body_limit_ = 0;
  std::uint64_t remaining_ = 0;  // Of the Content-Length body, or of the current chunk.
  enum class ChunkStep { kSize, kData, kDataEnd, kTrailer } chunk_step_ = ChunkStep::kSize;
  std::string line_;  // A chunk-size or trailer line being read.
  bool line_done_ = false;
  std::size_t trailer_bytes_ = 0;
  std::string body_;
  int error_status_ = 0;
  std::string error_message_;
};

}  // namespace livefeed
