// DecodeBase64Url: the strict unpadded base64url of signed tokens.
#include "transport/auth/base64url.h"

#include <doctest/doctest.h>

#include <string>

namespace livefeed {
namespace {

TEST_CASE("the RFC 4648 test vectors decode without their padding") {
  CHECK(DecodeBase64Url("") == "");
  CHECK(DecodeBase64Url("Zg") == "f");
  CHECK(DecodeBase64Url("Zm8") == "fo");
  CHECK(DecodeBase64Url("Zm9v") == "foo");
  CHECK(DecodeBase64Url("Zm9vYg") == "foob");
  CHECK(DecodeBase64Url("Zm9vYmE") == "fooba");
  CHECK(DecodeBase64Url("Zm9vYmFy") == "foobar");
}

TEST_CASE("the URL alphabet's - and _ stand for 62 and 63") {
  CHECK(DecodeBase64Url("-_8") == std::string("\xfb\xff", 2));
}

TEST_CASE("anything but strict unpadded base64url is refused") {
  for (const char* bad : {"Zg==", "Zm9v+", "+_8", "/_8", "Zm9 v", "Z", "Zm9vY", "Zm.v", "Zm9\n"}) {
    CAPTURE(bad);
    CHECK_FALSE(DecodeBase64Url(bad));
  }
}

TEST_CASE("unused trailing bits must be zero, so each byte string has one encoding") {
  CHECK(DecodeBase64Url("Zg") == "f");
  CHECK_FALSE(DecodeBase64Url("Zh"));
  CHECK(DecodeBase64Url("Zm8") == "fo");
  CHECK_FALSE(DecodeBase64Url("Zm9"));
}

}  // namespace
}  // namespace livefeed
