#include "danemq/crypto/private_key.hpp"

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

namespace danemq::crypto {
namespace {

unique_evp_pkey_ctx context_of(const EVP_PKEY& key) {
  // OpenSSL takes a non-const key but only up-references it.
  return unique_evp_pkey_ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, const_cast<EVP_PKEY*>(&key), nullptr));
}

bool set_oaep256(EVP_PKEY_CTX& ctx) {
  return EVP_PKEY_CTX_set_rsa_padding(&ctx, RSA_PKCS1_OAEP_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_oaep_md(&ctx, EVP_sha256()) == 1 && EVP_PKEY_CTX_set_rsa_mgf1_md(&ctx, EVP_sha256()) == 1;
}

/// A failure that says nothing of why (Manger's attack), the buffer wiped.
failure refused_unwrap(bytes& buffer) {
  ERR_clear_error();
  OPENSSL_cleanse(buffer.data(), buffer.size());
  return fail(errc::key_refused);
}

result<bytes> der_to_raw_p256(std::span<const std::uint8_t> der_signature) {
  const unsigned char* der = der_signature.data();
  const unique_ecdsa_sig parsed(d2i_ECDSA_SIG(nullptr, &der, static_cast<long>(der_signature.size())));
  if (!parsed) return openssl_failure("ECDSA signature");
  bytes raw(64);
  if (BN_bn2binpad(ECDSA_SIG_get0_r(parsed.get()), raw.data(), 32) != 32 ||
      BN_bn2binpad(ECDSA_SIG_get0_s(parsed.get()), raw.data() + 32, 32) != 32) {
    return fail(errc::openssl_failure, "ECDSA signature does not fit P-256");
  }
  return raw;
}

/// RS256 / ES256 over `message` with SHA-256, by EVP with an in-process key.
result<bytes> sign_in_process(const EVP_PKEY& key, std::span<const std::uint8_t> message) {
  const unique_evp_md_ctx context(EVP_MD_CTX_new());
  std::size_t length = 0;
  if (!context ||
      EVP_DigestSignInit_ex(context.get(), nullptr, "SHA256", nullptr, nullptr, const_cast<EVP_PKEY*>(&key), nullptr) !=
          1 ||
      EVP_DigestSign(context.get(), nullptr, &length, message.data(), message.size()) != 1) {
    return openssl_failure("signing");
  }
  bytes signature(length);
  if (EVP_DigestSign(context.get(), signature.data(), &length, message.data(), message.size()) != 1) {
    return openssl_failure("signing");
  }
  signature.resize(length);
  if (kind_of(key) != key_kind::ec_p256) return signature;
  return der_to_raw_p256(signature);
}

result<bytes> derive_in_process(const EVP_PKEY& key, const EVP_PKEY& peer) {
  auto ctx = context_of(key);
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1) return openssl_failure("ECDH setup");
  // The peer key was validated when it was read (jose's p256_public_key_from_jwk):
  // a second, full check here would double the cost of the key agreement.
  if (EVP_PKEY_derive_set_peer_ex(ctx.get(), const_cast<EVP_PKEY*>(&peer), 0) != 1) {
    ERR_clear_error();
    return fail(errc::key_refused, "ECDH: the peer key does not fit our key");
  }
  std::size_t secret_size = 0;
  if (EVP_PKEY_derive(ctx.get(), nullptr, &secret_size) != 1) return openssl_failure("ECDH size");
  bytes secret(secret_size);
  if (EVP_PKEY_derive(ctx.get(), secret.data(), &secret_size) != 1) {
    ERR_clear_error();
    return fail(errc::key_refused, "ECDH key agreement failed");
  }
  secret.resize(secret_size);
  return secret;
}

result<bytes> oaep256_decrypt_in_process(const EVP_PKEY& key, std::span<const std::uint8_t> encrypted) {
  auto ctx = context_of(key);
  if (!ctx || EVP_PKEY_decrypt_init(ctx.get()) != 1 || !set_oaep256(*ctx)) {
    return openssl_failure("RSA-OAEP-256 setup");
  }
  bytes out(static_cast<std::size_t>(EVP_PKEY_get_size(&key)));
  std::size_t size = out.size();
  if (encrypted.size() != out.size() ||
      EVP_PKEY_decrypt(ctx.get(), out.data(), &size, encrypted.data(), encrypted.size()) != 1) {
    return refused_unwrap(out);
  }
  out.resize(size);
  return out;
}

/// RSAES-OAEP-256 decoding of a raw RSA decryption done elsewhere. OpenSSL's
/// own decoder, which runs in constant time whatever the block holds: the
/// only one it has, deprecated with the low-level RSA interface in 3.0 but
/// still built and maintained (the EVP path calls the same code).
result<bytes> oaep256_decode(bytes& block, std::size_t modulus_size) {
  bytes out(modulus_size);
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#endif
  const int size = RSA_padding_check_PKCS1_OAEP_mgf1(out.data(), static_cast<int>(out.size()), block.data(),
                                                     static_cast<int>(block.size()), static_cast<int>(modulus_size),
                                                     nullptr, 0, EVP_sha256(), EVP_sha256());
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
  OPENSSL_cleanse(block.data(), block.size());
  if (size < 0) return refused_unwrap(out);
  out.resize(static_cast<std::size_t>(size));
  return out;
}

}  // namespace

result<bytes> private_key::sign_sha256(std::span<const std::uint8_t> message) const {
  const auto kind = kind_of(*key_);
  if (kind == key_kind::other || (kind == key_kind::rsa && key_bits(*key_) < 2048)) {
    return fail(errc::unsupported_key, "only RSA (2048 bits or more) and EC P-256 keys sign");
  }
  if (outside_ == nullptr) return sign_in_process(*key_, message);
  return outside_->sign_sha256_digest(sha256(message));
}

result<bytes> private_key::derive_shared_secret(const EVP_PKEY& peer) const {
  if (kind_of(*key_) != key_kind::ec_p256) return fail(errc::unsupported_key, "ECDH needs an EC P-256 key");
  if (outside_ == nullptr) return derive_in_process(*key_, peer);
  if (kind_of(peer) != key_kind::ec_p256) return fail(errc::key_refused, "ECDH: the peer key is not on P-256");
  return outside_->derive_shared_secret(peer);
}

result<bytes> private_key::rsa_oaep256_decrypt(std::span<const std::uint8_t> encrypted) const {
  if (kind_of(*key_) != key_kind::rsa) return fail(errc::unsupported_key, "RSA-OAEP-256 needs an RSA key");
  if (outside_ == nullptr) return oaep256_decrypt_in_process(*key_, encrypted);
  const auto modulus_size = static_cast<std::size_t>(EVP_PKEY_get_size(key_));
  if (encrypted.size() != modulus_size) return fail(errc::key_refused);
  auto block = outside_->decrypt_raw(encrypted);
  if (!block) return block.error();
  if (block->size() != modulus_size) return refused_unwrap(*block);
  return oaep256_decode(*block, modulus_size);
}

result<bytes> ecdsa_raw_to_der(std::span<const std::uint8_t> raw) {
  if (raw.empty() || raw.size() % 2 != 0) return fail(errc::openssl_failure, "ECDSA signature of odd length");
  const auto half = static_cast<int>(raw.size() / 2);
  unique_bignum r(BN_bin2bn(raw.data(), half, nullptr));
  unique_bignum s(BN_bin2bn(raw.data() + half, half, nullptr));
  const unique_ecdsa_sig signature(ECDSA_SIG_new());
  if (!r || !s || !signature || ECDSA_SIG_set0(signature.get(), r.get(), s.get()) != 1) {
    return openssl_failure("ECDSA signature");
  }
  (void)r.release();  // owned by the signature now
  (void)s.release();
  const int length = i2d_ECDSA_SIG(signature.get(), nullptr);
  if (length <= 0) return openssl_failure("ECDSA signature DER");
  bytes out(static_cast<std::size_t>(length));
  unsigned char* der = out.data();
  if (i2d_ECDSA_SIG(signature.get(), &der) != length) return openssl_failure("ECDSA signature DER");
  return out;
}

}  // namespace danemq::crypto
