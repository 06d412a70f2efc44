// Keys and signed tokens for tests, made with OpenSSL when the test runs: fresh RSA and EC
// key pairs (no private key is committed anywhere) and tokens with any header and claims,
// so that tests can also forge what an attacker would send. Independent of the server's
// verifying code: it signs, the server verifies.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace livefeed::testing {

std::string Base64UrlEncode(std::string_view bytes);

// A key pair generated for this test process.
class TestKeyPair {
 public:
  static TestKeyPair Rsa(int bits);
  static TestKeyPair Ec(const char* curve);  // "P-256", "P-384", ...

  std::string PublicPem() const;
  // RS256 (RSA, PKCS#1 v1.5 over SHA-256) or ES256 (the raw 64-byte R || S of JWS).
  std::string Sign(std::string_view input) const;
  // What OpenSSL produces: for EC keys, a DER signature, which JWS does not use.
  std::string SignDer(std::string_view input) const;
  const char* alg() const { return alg_; }

 private:
  struct Key;
  TestKeyPair(std::shared_ptr<Key> key, const char* alg) : key_(std::move(key)), alg_(alg) {}
  std::shared_ptr<Key> key_;
  const char* alg_;
};

// Generated once per process (RSA generation takes a moment).
const TestKeyPair& Rsa2048();
const TestKeyPair& EcP256();

struct TokenSigner {
  std::string alg;  // The header's alg unless the test gives a header.
  std::function<std::string(std::string_view)> sign;
};
TokenSigner Hs256Signer(std::string secret);
TokenSigner KeySigner(const TestKeyPair& key);

// header.payload.signature, base64url each; `header` null: {"alg": signer.alg, "typ": "JWT"}.
std::string MakeToken(const TokenSigner& signer, const nlohmann::json& claims,
                      const nlohmann::json& header = nullptr);

}  // namespace livefeed::testing
