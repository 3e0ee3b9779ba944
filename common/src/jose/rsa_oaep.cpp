#include "rsa_oaep.hpp"

#include <openssl/err.h>
#include <openssl/rsa.h>

#include "danemq/jose/errors.hpp"

namespace danemq::jose::detail {
namespace {

crypto::unique_evp_pkey_ctx context_of(const EVP_PKEY& key) {
  // OpenSSL takes a non-const key but only up-references it.
  return crypto::unique_evp_pkey_ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, const_cast<EVP_PKEY*>(&key), nullptr));
}

bool set_oaep256(EVP_PKEY_CTX& ctx) {
  return EVP_PKEY_CTX_set_rsa_padding(&ctx, RSA_PKCS1_OAEP_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_oaep_md(&ctx, EVP_sha256()) == 1 && EVP_PKEY_CTX_set_rsa_mgf1_md(&ctx, EVP_sha256()) == 1;
}

}  // namespace

result<crypto::bytes> rsa_oaep256_wrap(const EVP_PKEY& recipient, std::span<const std::uint8_t> cek) {
  if (crypto::kind_of(recipient) != crypto::key_kind::rsa) {
    return fail(errc::unsupported_key, "RSA-OAEP-256 needs an RSA key");
  }
  auto ctx = context_of(recipient);
  if (!ctx || EVP_PKEY_encrypt_init(ctx.get()) != 1 || !set_oaep256(*ctx)) {
    return fail(errc::internal_error, "RSA-OAEP-256 setup: " + crypto::drain_openssl_errors());
  }
  std::size_t size = 0;
  if (EVP_PKEY_encrypt(ctx.get(), nullptr, &size, cek.data(), cek.size()) != 1) {
    return fail(errc::internal_error, "RSA-OAEP-256 size: " + crypto::drain_openssl_errors());
  }
  crypto::bytes out(size);
  if (EVP_PKEY_encrypt(ctx.get(), out.data(), &size, cek.data(), cek.size()) != 1) {
    return fail(errc::internal_error, "RSA-OAEP-256 encryption: " + crypto::drain_openssl_errors());
  }
  out.resize(size);
  return out;
}

result<crypto::bytes> rsa_oaep256_unwrap(const crypto::private_key& private_key,
                                         std::span<const std::uint8_t> encrypted_key) {
  auto unwrapped = private_key.rsa_oaep256_decrypt(encrypted_key);
  if (unwrapped) return unwrapped;
  const auto& code = unwrapped.error().code;
  if (code == crypto::errc::unsupported_key) return fail(errc::unsupported_key, "RSA-OAEP-256 needs an RSA key");
  if (code == crypto::errc::key_unavailable) return fail(errc::key_unavailable, unwrapped.error().detail);
  // Which check failed must not be observable (Manger's attack).
  return fail(errc::decryption_failed);
}

}  // namespace danemq::jose::detail
