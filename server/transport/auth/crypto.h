// The cryptography livefeed uses, behind plain types: the key that checks a signed token's
// signature (an HS256 secret, or an RS256 / ES256 public key) and SHA-256.
// The only file that includes OpenSSL. A SignatureKey is immutable once made and safe for
// concurrent use: each check builds its own OpenSSL contexts.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace livefeed {

// JWS algorithms (RFC 7518); the one a key checks is fixed by the key, never by a token.
enum class JwsAlgorithm { kHs256, kRs256, kEs256 };

// "HS256", "RS256", "ES256": the `alg` header value of each.
std::string_view JwsAlgorithmName(JwsAlgorithm algorithm);

class SignatureKey {
 public:
  // HS256 with `secret` (RFC 7518 asks for at least 32 bytes; config enforces it).
  static SignatureKey Secret(std::string secret);

  // A PEM public key ("BEGIN PUBLIC KEY", or an X.509 certificate): RS256 for an RSA key
  // of 2048 bits or more, ES256 for an EC key on P-256. Anything else: nullopt, and
  // `*error` says why.
  static std::optional<SignatureKey> FromPublicKeyPem(std::string_view pem, std::string* error);

  JwsAlgorithm algorithm() const { return algorithm_; }

  // Whether `signature` (the decoded third part of a JWS) signs `signing_input` (the first
  // two parts, as sent, joined by a dot). ES256 signatures are the raw 64-byte R || S.
  bool Verify(std::string_view signing_input, std::string_view signature) const;

 private:
  struct PublicKey;  // OpenSSL's EVP_PKEY, freed with the last copy.
  SignatureKey(JwsAlgorithm algorithm, std::string secret, std::shared_ptr<PublicKey> key);

  JwsAlgorithm algorithm_;
  std::string secret_;                    // HS256 only.
  std::shared_ptr<const PublicKey> key_;  // RS256 and ES256 only.
};

// The 32-byte SHA-256 digest of `data`.
std::string Sha256(std::string_view data);

}  // namespace livefeed
