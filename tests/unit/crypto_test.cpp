// SignatureKey::FromPublicKeyPem (which keys are accepted, and why others are not) and
// Sha256. Signature checks themselves are exercised through jwt_test.cpp.
#include "transport/auth/crypto.h"

#include <doctest/doctest.h>

#include <string>

#include "support/test_tokens.h"

namespace livefeed {
namespace {

std::string ErrorFor(const std::string& pem) {
  std::string error;
  CHECK_FALSE(SignatureKey::FromPublicKeyPem(pem, &error));
  return error;
}

std::string Hex(const std::string& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : bytes) hex += {kDigits[c >> 4], kDigits[c & 15]};
  return hex;
}

TEST_CASE("an RSA public key checks RS256 and an EC P-256 key ES256") {
  std::string error;
  const auto rsa = SignatureKey::FromPublicKeyPem(testing::Rsa2048().PublicPem(), &error);
  REQUIRE_MESSAGE(rsa, error);
  CHECK(rsa->algorithm() == JwsAlgorithm::kRs256);
  const auto ec = SignatureKey::FromPublicKeyPem(testing::EcP256().PublicPem(), &error);
  REQUIRE_MESSAGE(ec, error);
  CHECK(ec->algorithm() == JwsAlgorithm::kEs256);
  CHECK(SignatureKey::Secret("s").algorithm() == JwsAlgorithm::kHs256);
}

TEST_CASE("keys that no accepted algorithm fits are refused with the reason") {
  CHECK(ErrorFor(testing::TestKeyPair::Ec("P-384").PublicPem()).find("P-256") != std::string::npos);
  CHECK(ErrorFor(testing::TestKeyPair::Rsa(1024).PublicPem()).find("1024 bits") !=
        std::string::npos);
  CHECK(ErrorFor("").find("not a PEM public key") != std::string::npos);
  CHECK(ErrorFor("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
            .find("not a PEM public key") != std::string::npos);
}

TEST_CASE("a private key given by mistake is refused, not used") {
  CHECK(ErrorFor("-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----\n")
            .find("private key") != std::string::npos);
  CHECK(ErrorFor("-----BEGIN EC PRIVATE KEY-----\n...\n-----END EC PRIVATE KEY-----\n")
            .find("private key") != std::string::npos);
}

TEST_CASE("a signature of the wrong size or encoding is refused by each key") {
  const std::string input = "header.payload";
  CHECK_FALSE(SignatureKey::Secret("secret").Verify(input, ""));
  CHECK_FALSE(SignatureKey::Secret("secret").Verify(input, std::string(31, 'x')));
  std::string error;
  const auto ec = SignatureKey::FromPublicKeyPem(testing::EcP256().PublicPem(), &error);
  REQUIRE(ec);
  CHECK(ec->Verify(input, testing::EcP256().Sign(input)));
  CHECK_FALSE(ec->Verify(input, testing::EcP256().Sign(input).substr(0, 63)));
  CHECK_FALSE(ec->Verify(input, std::string(64, '\0')));
  CHECK_FALSE(ec->Verify(input, std::string(64, '\xff')));
  const auto rsa = SignatureKey::FromPublicKeyPem(testing::Rsa2048().PublicPem(), &error);
  REQUIRE(rsa);
  CHECK(rsa->Verify(input, testing::Rsa2048().Sign(input)));
  CHECK_FALSE(rsa->Verify(input, testing::Rsa2048().Sign(input).substr(1)));
  CHECK_FALSE(rsa->Verify(input, ""));
}

TEST_CASE("Sha256 gives the FIPS 180-2 digests") {
  CHECK(Hex(Sha256("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(Hex(Sha256("")) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

}  // namespace
}  // namespace livefeed
