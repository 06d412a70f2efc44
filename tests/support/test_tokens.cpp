#include "support/test_tokens.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <stdexcept>

namespace livefeed::testing {

struct TestKeyPair::Key {
  explicit Key(EVP_PKEY* k) : pkey(k) {
    if (!pkey) throw std::runtime_error("test key generation failed");
  }
  ~Key() { EVP_PKEY_free(pkey); }
  EVP_PKEY* pkey;
};

std::string Base64UrlEncode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return out;
}

TestKeyPair TestKeyPair::Rsa(int bits) {
  return TestKeyPair(std::make_shared<Key>(EVP_RSA_gen(static_cast<unsigned>(bits))), "RS256");
}

TestKeyPair TestKeyPair::Ec(const char* curve) {
  return TestKeyPair(std::make_shared<Key>(EVP_EC_gen(curve)), "ES256");
}

std::string TestKeyPair::PublicPem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key_->pkey);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(size));
  BIO_free(bio);
  return pem;
}

std::string TestKeyPair::SignDer(std::string_view input) const {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::size_t size = 0;
  EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key_->pkey);
  EVP_DigestSign(ctx, nullptr, &size, reinterpret_cast<const unsigned char*>(input.data()),
                 input.size());
  std::string signature(size, '\0');
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(signature.data()), &size,
                 reinterpret_cast<const unsigned char*>(input.data()), input.size());
  EVP_MD_CTX_free(ctx);
  signature.resize(size);
  return signature;
}

std::string TestKeyPair::Sign(std::string_view input) const {
  const std::string signature = SignDer(input);
  if (EVP_PKEY_get_base_id(key_->pkey) != EVP_PKEY_EC) return signature;
  // OpenSSL signs ECDSA in DER; JWS wants R and S as fixed-size big-endian numbers.
  const auto* der = reinterpret_cast<const unsigned char*>(signature.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &der, static_cast<long>(signature.size()));
  const int half = (EVP_PKEY_get_bits(key_->pkey) + 7) / 8;
  std::string raw(2 * static_cast<std::size_t>(half), '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), out, half);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), out + half, half);
  ECDSA_SIG_free(sig);
  return raw;
}

const TestKeyPair& Rsa2048() {
  static const TestKeyPair key = TestKeyPair::Rsa(2048);
  return key;
}

const TestKeyPair& EcP256() {
  static const TestKeyPair key = TestKeyPair::Ec("P-256");
  return key;
}

TokenSigner Hs256Signer(std::string secret) {
  return {"HS256", [secret](std::string_view input) {
            unsigned char mac[EVP_MAX_MD_SIZE];
            unsigned int size = 0;
            HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
                 reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &size);
            return std::string(reinterpret_cast<const char*>(mac), size);
          }};
}

TokenSigner KeySigner(const TestKeyPair& key) {
  return {key.alg(), [key](std::string_view input) { return key.Sign(input); }};
}

std::string MakeToken(const TokenSigner& signer, const nlohmann::json& claims,
                      const nlohmann::json& header) {
  const nlohmann::json head =
      header.is_null() ? nlohmann::json{{"alg", signer.alg}, {"typ", "JWT"}} : header;
  const std::string input = Base64UrlEncode(head.dump()) + "." + Base64UrlEncode(claims.dump());
  return input + "." + Base64UrlEncode(signer.sign(input));
}

}  // namespace livefeed::testing
