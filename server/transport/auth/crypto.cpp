#include "transport/auth/crypto.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <vector>

namespace livefeed {

struct SignatureKey::PublicKey {
  explicit PublicKey(EVP_PKEY* k) : pkey(k) {}
  ~PublicKey() { EVP_PKEY_free(pkey); }
  PublicKey(const PublicKey&) = delete;
  PublicKey& operator=(const PublicKey&) = delete;
  EVP_PKEY* pkey;
};

namespace {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX, EVP_MD_CTX_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, Deleter<ECDSA_SIG, ECDSA_SIG_free>>;

constexpr int kMinRsaBits = 2048;  // Shorter RSA keys are refused (RFC 7518, section 3.3).
constexpr std::size_t kEs256Half = 32;

// OpenSSL reports failures on a per-thread queue; what is left there would be blamed on
// the next unrelated call on this thread (cpp-httplib's TLS, for one).
std::optional<SignatureKey> Fail(std::string* error, std::string message) {
  ERR_clear_error();
  if (error) *error = std::move(message);
  return std::nullopt;
}

// A SubjectPublicKeyInfo PEM, or the key of a certificate PEM.
EVP_PKEY* ReadPublicKey(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return nullptr;
  if (EVP_PKEY* key = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr)) return key;
  bio.reset(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Ptr certificate(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  return certificate ? X509_get_pubkey(certificate.get()) : nullptr;
}

bool IsP256(EVP_PKEY* key) {
  char name[64];
  std::size_t length = 0;
  if (EVP_PKEY_get_group_name(key, name, sizeof name, &length) != 1) return false;
  return OBJ_sn2nid(name) == NID_X9_62_prime256v1;
}

// JWS carries ECDSA signatures as R || S, 32 bytes each (RFC 7518, section 3.4); OpenSSL
// verifies the DER form. Empty on a signature of the wrong size.
std::string RawEcdsaToDer(std::string_view raw) {
  if (raw.size() != 2 * kEs256Half) return {};
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
  EcdsaSigPtr sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(bytes, kEs256Half, nullptr);
  BIGNUM* s = BN_bin2bn(bytes + kEs256Half, kEs256Half, nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return {};
  }
  const int length = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (length <= 0) return {};
  std::string der(static_cast<std::size_t>(length), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_ECDSA_SIG(sig.get(), &out) != length) return {};
  return der;
}

bool VerifyWithPublicKey(EVP_PKEY* key, std::string_view input, std::string_view signature) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  // RSA keys default to PKCS#1 v1.5 padding, which is what RS256 is.
  const bool ok =
      ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) == 1 &&
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                       signature.size(), reinterpret_cast<const unsigned char*>(input.data()),
                       input.size()) == 1;
  ERR_clear_error();
  return ok;
}

}  // namespace

std::string_view JwsAlgorithmName(JwsAlgorithm algorithm) {
  switch (algorithm) {
    case JwsAlgorithm::kHs256:
      return "HS256";
    case JwsAlgorithm::kRs256:
      return "RS256";
    case JwsAlgorithm::kEs256:
      return "ES256";
  }
  return "";
}

SignatureKey::SignatureKey(JwsAlgorithm algorithm, std::string secret,
                           std::shared_ptr<PublicKey> key)
    : algorithm_(algorithm), secret_(std::move(secret)), key_(std::move(key)) {}

SignatureKey SignatureKey::Secret(std::string secret) {
  return SignatureKey(JwsAlgorithm::kHs256, std::move(secret), nullptr);
}

std::optional<SignatureKey> SignatureKey::FromPublicKeyPem(std::string_view pem,
                                                           std::string* error) {
  // A private key given by mistake must not be kept in memory or half-used.
  if (pem.find("PRIVATE KEY-----") != std::string_view::npos)
    return Fail(error, "a private key was given: give the public key (openssl pkey -pubout)");
  EVP_PKEY* raw = ReadPublicKey(pem);
  if (!raw) return Fail(error, "not a PEM public key or certificate");
  auto key = std::make_shared<PublicKey>(raw);
  switch (EVP_PKEY_get_base_id(raw)) {
    case EVP_PKEY_RSA:
      if (EVP_PKEY_get_bits(raw) < kMinRsaBits)
        return Fail(error, "the RSA key has " + std::to_string(EVP_PKEY_get_bits(raw)) +
                               " bits; RS256 needs at least 2048");
      return SignatureKey(JwsAlgorithm::kRs256, {}, std::move(key));
    case EVP_PKEY_EC:
      if (!IsP256(raw)) return Fail(error, "the EC key is not on P-256, the curve of ES256");
      return SignatureKey(JwsAlgorithm::kEs256, {}, std::move(key));
    default:
      return Fail(error, "the key is neither RSA (RS256) nor EC P-256 (ES256)");
  }
}

bool SignatureKey::Verify(std::string_view signing_input, std::string_view signature) const {
  switch (algorithm_) {
    case JwsAlgorithm::kHs256: {
      unsigned char mac[EVP_MAX_MD_SIZE];
      unsigned int length = 0;
      if (!HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
                reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(),
                mac, &length)) {
        ERR_clear_error();
        return false;
      }
      // Constant time, so a signature cannot be guessed byte by byte from response times.
      return signature.size() == length && CRYPTO_memcmp(mac, signature.data(), length) == 0;
    }
    case JwsAlgorithm::kRs256:
      return VerifyWithPublicKey(key_->pkey, signing_input, signature);
    case JwsAlgorithm::kEs256: {
      const std::string der = RawEcdsaToDer(signature);
      return !der.empty() && VerifyWithPublicKey(key_->pkey, signing_input, der);
    }
  }
  return false;
}

std::string Sha256(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

}  // namespace livefeed
