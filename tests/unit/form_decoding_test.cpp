// DecodeForm and IsValidUtf8: form bodies decode to UTF-8 fields or not at all.
#include "transport/form_decoding.h"

#include <doctest/doctest.h>

#include <string>

namespace livefeed {
namespace {

TEST_CASE("fields decode in order") {
  auto fields = DecodeForm("a=1&b=x+y%21&a=2");
  REQUIRE(fields);
  CHECK(*fields == FormFields{{"a", "1"}, {"b", "x y!"}, {"a", "2"}});
}

TEST_CASE("plus decodes to a space and %2B to a plus") {
  auto fields = DecodeForm("q=1+1%2B1");
  REQUIRE(fields);
  CHECK(*fields == FormFields{{"q", "1 1+1"}});
}

TEST_CASE("percent escapes decode in either case, in names too") {
  auto fields = DecodeForm("%61%62=%3d%3D%26");
  REQUIRE(fields);
  CHECK(*fields == FormFields{{"ab", "==&"}});
}

TEST_CASE("an empty body has no fields") {
  auto fields = DecodeForm("");
  REQUIRE(fields);
  CHECK(fields->empty());
}

TEST_CASE("empty pairs between ampersands are skipped") {
  auto fields = DecodeForm("&a=1&&b=2&");
  REQUIRE(fields);
  CHECK(*fields == FormFields{{"a", "1"}, {"b", "2"}});
}

TEST_CASE("a field without = has an empty value") {
  auto fields = DecodeForm("flag&a=");
  REQUIRE(fields);
  CHECK(*fields == FormFields{{"flag", ""}, {"a", ""}});
}

TEST_CASE("only the first = separates name from value") {
  auto fields = DecodeForm("eq=a=b");
  REQUIRE(fields);
  CHECK(*fields == FormFields{{"eq", "a=b"}});
}

TEST_CASE("escaped UTF-8 decodes to its bytes") {
  auto fields = DecodeForm("s=%C3%A9%E2%82%AC%F0%9F%98%80");
  REQUIRE(fields);
  CHECK(*fields == FormFields{{"s", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"}});
}

TEST_CASE("raw UTF-8 passes through") {
  auto fields = DecodeForm("s=\xc3\xa9");
  REQUIRE(fields);
  CHECK(*fields == FormFields{{"s", "\xc3\xa9"}});
}

TEST_CASE("a malformed percent escape rejects the body") {
  for (const char* body : {"a=%", "a=%4", "a=%zz", "a=%4g", "a=%g4", "a=x%", "%=1", "a=%%41"}) {
    CAPTURE(body);
    CHECK_FALSE(DecodeForm(body));
  }
}

TEST_CASE("a complete escape at the very end is accepted") {
  auto fields = DecodeForm("a=%41");
  REQUIRE(fields);
  CHECK(*fields == FormFields{{"a", "A"}});
}

TEST_CASE("invalid UTF-8 in a value or a name rejects the body") {
  CHECK_FALSE(DecodeForm("a=%FF"));
  CHECK_FALSE(DecodeForm("%FF=1"));
  CHECK_FALSE(DecodeForm("a=\xff"));
}

TEST_CASE("ASCII and well-formed multi-byte sequences are valid UTF-8") {
  CHECK(IsValidUtf8(""));
  CHECK(IsValidUtf8("plain ascii \x7f"));
  CHECK(IsValidUtf8("\xc2\x80"));          // U+0080, the smallest two-byte form.
  CHECK(IsValidUtf8("\xdf\xbf"));          // U+07FF
  CHECK(IsValidUtf8("\xe0\xa0\x80"));      // U+0800, the smallest three-byte form.
  CHECK(IsValidUtf8("\xed\x9f\xbf"));      // U+D7FF, just below the surrogates.
  CHECK(IsValidUtf8("\xee\x80\x80"));      // U+E000, just above them.
  CHECK(IsValidUtf8("\xef\xbf\xbf"));      // U+FFFF
  CHECK(IsValidUtf8("\xf0\x90\x80\x80"));  // U+10000, the smallest four-byte form.
  CHECK(IsValidUtf8("\xf4\x8f\xbf\xbf"));  // U+10FFFF, the largest code point.
}

TEST_CASE("overlong encodings are not valid UTF-8") {
  CHECK_FALSE(IsValidUtf8("\xc0\xaf"));  // '/' in two bytes.
  CHECK_FALSE(IsValidUtf8("\xc1\xbf"));
  CHECK_FALSE(IsValidUtf8("\xe0\x80\xaf"));      // '/' in three bytes.
  CHECK_FALSE(IsValidUtf8("\xe0\x9f\xbf"));      // U+07FF in three bytes.
  CHECK_FALSE(IsValidUtf8("\xf0\x80\x80\xaf"));  // '/' in four bytes.
  CHECK_FALSE(IsValidUtf8("\xf0\x8f\xbf\xbf"));  // U+FFFF in four bytes.
}

TEST_CASE("UTF-16 surrogates are not valid UTF-8") {
  CHECK_FALSE(IsValidUtf8("\xed\xa0\x80"));              // U+D800
  CHECK_FALSE(IsValidUtf8("\xed\xbf\xbf"));              // U+DFFF
  CHECK_FALSE(IsValidUtf8("\xed\xa0\xbd\xed\xb8\x80"));  // A CESU-8 pair.
}

TEST_CASE("code points past U+10FFFF are not valid UTF-8") {
  CHECK_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));
  CHECK_FALSE(IsValidUtf8("\xf7\xbf\xbf\xbf"));
  CHECK_FALSE(IsValidUtf8("\xf8\x88\x80\x80\x80"));  // Five-byte forms are gone.
}

TEST_CASE("truncated and stray bytes are not valid UTF-8") {
  CHECK_FALSE(IsValidUtf8("\xc3"));
  CHECK_FALSE(IsValidUtf8("a\xe2\x82"));
  CHECK_FALSE(IsValidUtf8("\xf0\x9f\x98"));
  CHECK_FALSE(IsValidUtf8("\x80"));      // A continuation byte with no lead.
  CHECK_FALSE(IsValidUtf8("\xc3\x28"));  // A lead followed by ASCII.
  CHECK_FALSE(IsValidUtf8("\xfe"));
  CHECK_FALSE(IsValidUtf8("\xff"));
}

TEST_CASE("escaped overlong and surrogate sequences reject the body") {
  CHECK_FALSE(DecodeForm("a=%C0%AF"));
  CHECK_FALSE(DecodeForm("a=%ED%A0%80"));
  CHECK_FALSE(DecodeForm("a=%E2%82"));
}

TEST_CASE("an escaped NUL decodes to a NUL byte") {
  auto fields = DecodeForm("a=x%00y");
  REQUIRE(fields);
  CHECK((*fields)[0].second == std::string("x\0y", 3));
}

}  // namespace
}  // namespace livefeed
