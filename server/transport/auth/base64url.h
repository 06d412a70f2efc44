// base64url without padding (RFC 4648, section 5), the encoding of each part of a signed
// token (RFC 7515, section 2). Plain functions; safe for concurrent use.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace livefeed {

// The bytes `text` encodes, or nullopt when it is not strict unpadded base64url: a
// character outside A-Z a-z 0-9 - _, padding, a length that no byte string has, or unused
// trailing bits that are not zero (so each byte string has exactly one encoding).
std::optional<std::string> DecodeBase64Url(std::string_view text);

}  // namespace livefeed
