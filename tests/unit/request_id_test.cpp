// Request ids: a sane incoming X-Request-Id is kept, anything else replaced by a new one.
#include "request_id.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <string>

namespace livefeed {
namespace {

std::string ChooseRequestId(std::string_view incoming) {
  // Written over what an earlier request left, as a connection does.
  std::string id = "an earlier request's id, longer than any new one";
  livefeed::ChooseRequestId(incoming, id);
  return id;
}

std::string NewRequestId() {
  std::string id = "x";
  livefeed::NewRequestId(id);
  return id;
}

bool IsNewId(const std::string& id) {
  return id.size() == 32 && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

TEST_CASE("an incoming id of visible ASCII within the length limit is kept as it is") {
  CHECK(ChooseRequestId("abc-123") == "abc-123");
  CHECK(ChooseRequestId("f47ac10b-58cc-4372-a567-0e02b2c3d479") ==
        "f47ac10b-58cc-4372-a567-0e02b2c3d479");
  CHECK(ChooseRequestId("a:b/c+d=e_{x}\"q\"") == "a:b/c+d=e_{x}\"q\"");
  const std::string longest(kMaxRequestIdLength, 'x');
  CHECK(ChooseRequestId(longest) == longest);
}

TEST_CASE("an absent, overlong or unprintable incoming id is replaced by a new one") {
  for (const std::string& incoming :
       {std::string(), std::string(kMaxRequestIdLength + 1, 'x'), std::string("two words"),
        std::string("line\nbreak"), std::string("tab\there"), std::string("caf\xc3\xa9"),
        std::string("nul\0byte", 8), std::string("del\x7f")}) {
    CAPTURE(incoming);
    CHECK(IsNewId(ChooseRequestId(incoming)));
  }
}

TEST_CASE("new ids are 32 hex digits and do not repeat") {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    const std::string id = NewRequestId();
    REQUIRE(IsNewId(id));
    seen.insert(id);
  }
  CHECK(seen.size() == 10000);
}

}  // namespace
}  // namespace livefeed
