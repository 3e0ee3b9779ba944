#include "ecdh_es.hpp"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <array>
#include <string>

#include "danemq/jose/errors.hpp"
#include "encoding.hpp"
#include "json_serialization.hpp"

namespace danemq::jose::detail {
namespace {

using crypto::unique_evp_kdf;
using crypto::unique_evp_kdf_ctx;

crypto::unique_evp_pkey_ctx context_of(const EVP_PKEY& key) {
  // OpenSSL takes a non-const key but only up-references it.
  return crypto::unique_evp_pkey_ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, const_cast<EVP_PKEY*>(&key), nullptr));
}

void append_length_prefixed(crypto::bytes& out, std::span<const std::uint8_t> data) {
  const auto size = static_cast<std::uint32_t>(data.size());
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(size >> shift));
  out.insert(out.end(), data.begin(), data.end());
}

/// A P-256 public key from its uncompressed point, built from scratch: the
/// group is made anew from the curve's name each time.
crypto::unique_evp_pkey p256_key_from_point(crypto::bytes& point) {
  std::array<OSSL_PARAM, 3> params{
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>("P-256"), 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()),
      OSSL_PARAM_construct_end()};
  const crypto::unique_evp_pkey_ctx ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.data()) != 1) {
    return nullptr;
  }
  return crypto::unique_evp_pkey(raw);
}

/// A P-256 public key (the curve's generator) made once: a key read from a
/// message is a copy of it with the message's point, which halves the cost
/// of reading it (the group is copied, not built from the curve's name);
/// null if it could not be made.
const EVP_PKEY* p256_template() {
  static const crypto::unique_evp_pkey key = [] {
    // The generator's uncompressed point (SEC 2, secp256r1).
    crypto::bytes generator{0x04, 0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6, 0xe5,
                            0x63, 0xa4, 0x40, 0xf2, 0x77, 0x03, 0x7d, 0x81, 0x2d, 0xeb, 0x33, 0xa0, 0xf4,
                            0xa1, 0x39, 0x45, 0xd8, 0x98, 0xc2, 0x96, 0x4f, 0xe3, 0x42, 0xe2, 0xfe, 0x1a,
                            0x7f, 0x9b, 0x8e, 0xe7, 0xeb, 0x4a, 0x7c, 0x0f, 0x9e, 0x16, 0x2b, 0xce, 0x33,
                            0x57, 0x6b, 0x31, 0x5e, 0xce, 0xcb, 0xb6, 0x40, 0x68, 0x37, 0xbf, 0x51, 0xf5};
    return p256_key_from_point(generator);
  }();
  return key.get();
}

}  // namespace

result<crypto::bytes> ecdh_es_content_key(const crypto::private_key& private_key, const EVP_PKEY& ephemeral_key,
                                          std::string_view enc, std::size_t key_bits, std::span<const std::uint8_t> apu,
                                          std::span<const std::uint8_t> apv) {
  if (key_bits == 0 || key_bits % 8 != 0) return fail(errc::internal_error, "ECDH-ES: bad key length");
  auto derived = private_key.derive_shared_secret(ephemeral_key);
  if (!derived) {
    const auto& code = derived.error().code;
    if (code == crypto::errc::key_refused) return fail(errc::decryption_failed, "ECDH-ES: " + derived.error().detail);
    if (code == crypto::errc::key_unavailable) return fail(errc::key_unavailable, derived.error().detail);
    return fail(errc::internal_error, "ECDH-ES: " + derived.error().message());
  }
  crypto::bytes secret = std::move(derived).value();

  // JWA 4.6.2 OtherInfo: AlgorithmID || PartyUInfo || PartyVInfo || SuppPubInfo.
  crypto::bytes other_info;
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): bytes of the algorithm name
  append_length_prefixed(other_info, std::span(reinterpret_cast<const std::uint8_t*>(enc.data()), enc.size()));
  append_length_prefixed(other_info, apu);
  append_length_prefixed(other_info, apv);
  for (int shift = 24; shift >= 0; shift -= 8) other_info.push_back(static_cast<std::uint8_t>(key_bits >> shift));

  const unique_evp_kdf kdf(EVP_KDF_fetch(nullptr, OSSL_KDF_NAME_SSKDF, nullptr));
  const unique_evp_kdf_ctx kdf_ctx(kdf ? EVP_KDF_CTX_new(kdf.get()) : nullptr);
  crypto::bytes cek(key_bits / 8);
  std::array<OSSL_PARAM, 4> params{
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, secret.data(), secret.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, other_info.data(), other_info.size()),
      OSSL_PARAM_construct_end()};
  const bool kdf_done = kdf_ctx && EVP_KDF_derive(kdf_ctx.get(), cek.data(), cek.size(), params.data()) == 1;
  OPENSSL_cleanse(secret.data(), secret.size());
  if (!kdf_done) return fail(errc::internal_error, "Concat KDF: " + crypto::drain_openssl_errors());
  return cek;
}

result<crypto::unique_evp_pkey> p256_public_key_from_jwk(std::string_view jwk_json) {
  auto members = read_members(jwk_json, "epk");
  if (!members) return members.error();
  std::string kty;
  std::string crv;
  std::string x_b64;
  std::string y_b64;
  auto taken = take_string_members(*members, "epk", {{"kty", &kty}, {"crv", &crv}, {"x", &x_b64}, {"y", &y_b64}}, {});
  if (!taken) return taken.error();
  if (kty != "EC" || crv != "P-256") return fail(errc::bad_format, "epk is not an EC P-256 key");
  auto x = base64url_decode(x_b64, "epk x");
  if (!x) return x.error();
  auto y = base64url_decode(y_b64, "epk y");
  if (!y) return y.error();
  if (x->size() != 32 || y->size() != 32) return fail(errc::bad_format, "epk coordinates are not 32 bytes");

  crypto::bytes point{0x04};
  point.insert(point.end(), x->begin(), x->end());
  point.insert(point.end(), y->begin(), y->end());
  crypto::unique_evp_pkey key;
  if (const auto* model = p256_template()) {
    // OpenSSL only reads the key it copies.
    key.reset(EVP_PKEY_dup(const_cast<EVP_PKEY*>(model)));
    // Refuses a point that is not on the curve, like fromdata.
    if (key && EVP_PKEY_set1_encoded_public_key(key.get(), point.data(), point.size()) != 1) key.reset();
  } else {
    key = p256_key_from_point(point);
  }
  if (!key) {
    ERR_clear_error();
    return fail(errc::bad_format, "epk is not a point of P-256");
  }
  // On the curve and not the point at infinity: against invalid-curve attacks
  // on our static key. P-256's cofactor is 1, so every such point has the
  // group's prime order and the full check (a scalar multiplication) adds nothing.
  const auto check = context_of(*key);
  if (!check || EVP_PKEY_public_check_quick(check.get()) != 1) {
    ERR_clear_error();
    return fail(errc::bad_format, "epk is not a valid P-256 public key");
  }
  return key;
}

}  // namespace danemq::jose::detail
