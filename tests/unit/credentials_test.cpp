// FindToken and FindCookie: where a signed token is found in a request.
#include "transport/auth/credentials.h"

#include <doctest/doctest.h>

#include "transport/access.h"

namespace livefeed {
namespace {

constexpr AuthAction kSubscribe = AuthAction::kSubscribe;

Credentials With(std::string authorization, std::string cookie = "", std::string query = "") {
  return {.authorization = std::move(authorization),
          .cookie = std::move(cookie),
          .query_token = std::move(query)};
}

TEST_CASE("a Bearer header carries the token, whatever the case of the scheme") {
  for (const char* header : {"Bearer abc.def.ghi", "bearer abc.def.ghi", "BEARER abc.def.ghi",
                             "  Bearer   abc.def.ghi  ", "Bearer\tabc.def.ghi"}) {
    CAPTURE(header);
    CHECK(FindToken(With(header), "", kSubscribe) == "abc.def.ghi");
  }
}

TEST_CASE("the fixed publish and subscribe tokens read the header the same way") {
  for (const char* header :
       {"Bearer s3cret", "bearer s3cret", "  Bearer   s3cret  ", "Bearer\ts3cret"}) {
    CAPTURE(header);
    CHECK_FALSE(CheckToken("s3cret", header, ""));
  }
  for (const char* header : {"Basic s3cret", "Bearer", "Bearers3cret", "Bearer s3cret2"}) {
    CAPTURE(header);
    const std::optional<Reply> refusal = CheckToken("s3cret", header, "");
    REQUIRE(refusal);
    CHECK((refusal->status == 401 || refusal->status == 403));
  }
}

TEST_CASE("another scheme or an empty Bearer is no token") {
  CHECK(FindToken(With("Basic dXNlcjpwYXNz"), "", kSubscribe).empty());
  CHECK(FindToken(With("Bearer"), "", kSubscribe).empty());
  CHECK(FindToken(With("Bearer   "), "", kSubscribe).empty());
  CHECK(FindToken(With("Bearerabc"), "", kSubscribe).empty());
}

TEST_CASE("the named cookie carries the token") {
  CHECK(FindToken(With("", "theme=dark; lf_token=abc.def.ghi; lang=en"), "lf_token", kSubscribe) ==
        "abc.def.ghi");
  // A cookie whose name merely ends with or contains the name is another cookie.
  CHECK(FindToken(With("", "x_lf_token=evil; lf_token=good"), "lf_token", kSubscribe) == "good");
  CHECK(FindToken(With("", "lf_token2=evil"), "lf_token", kSubscribe).empty());
}

TEST_CASE("cookies are not read when no cookie name is configured") {
  CHECK(FindToken(With("", "token=abc"), "", kSubscribe).empty());
}

TEST_CASE("the query token is the last resort") {
  CHECK(FindToken(With("", "", "q.q.q"), "lf_token", kSubscribe) == "q.q.q");
  CHECK(FindToken(With("", "lf_token=c.c.c", "q.q.q"), "lf_token", kSubscribe) == "c.c.c");
  CHECK(FindToken(With("Bearer h.h.h", "lf_token=c.c.c", "q.q.q"), "lf_token", kSubscribe) ==
        "h.h.h");
  CHECK(FindToken(With("Basic x", "lf_token=", "q.q.q"), "lf_token", kSubscribe) == "q.q.q");
}

TEST_CASE("a publish takes its token from the Authorization header alone") {
  // A cookie travels with a form another site makes the browser post; a query ends up in logs.
  CHECK(FindToken(With("", "lf_token=c.c.c", "q.q.q"), "lf_token", AuthAction::kPublish).empty());
  CHECK(FindToken(With("Bearer h.h.h", "lf_token=c.c.c", "q.q.q"), "lf_token",
                  AuthAction::kPublish) == "h.h.h");
}

TEST_CASE("FindCookie reads quoted and spaced values and tells absent from empty") {
  CHECK(FindCookie("a=1; b=\"two\" ;c=3", "b") == "two");
  CHECK(FindCookie("a=1;c=3", "c") == "3");
  CHECK(FindCookie("a=1; b=", "b") == "");
  CHECK_FALSE(FindCookie("a=1; b", "b"));
  CHECK_FALSE(FindCookie("", "a"));
  CHECK(FindCookie("a=x=y", "a") == "x=y");
}

}  // namespace
}  // namespace livefeed
