#include "cjose_inputs.hpp"

#include <openssl/core_names.h>
#include <openssl/err.h>

#include <jansson.h>

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "danemq/crypto/openssl.hpp"
#include "danemq/jose/errors.hpp"

namespace danemq::jose::detail {
namespace {

/// Big-endian bytes of a key's BIGNUM parameter, padded to `width` when non-zero;
/// the BIGNUM is cleared before it is freed.
bool bignum_param(const EVP_PKEY& key, const char* name, crypto::bytes& out, int width = 0) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(&key, name, &raw) != 1) return false;
  const crypto::unique_bignum number(raw);
  const int size = width != 0 ? width : BN_num_bytes(number.get());
  out.assign(static_cast<std::size_t>(size), 0);
  const bool written = BN_bn2binpad(number.get(), out.data(), size) == size;
  BN_clear(number.get());
  return written;
}

result<unique_cjose_jwk> rsa_jwk(const EVP_PKEY& key) {
  crypto::bytes n;
  crypto::bytes e;
  if (!bignum_param(key, OSSL_PKEY_PARAM_RSA_N, n) || !bignum_param(key, OSSL_PKEY_PARAM_RSA_E, e)) {
    return fail(errc::internal_error, "RSA public numbers: " + crypto::drain_openssl_errors());
  }
  cjose_jwk_rsa_keyspec spec{};
  spec.n = n.data(), spec.nlen = n.size(), spec.e = e.data(), spec.elen = e.size();
  cjose_err err{};
  unique_cjose_jwk jwk(cjose_jwk_create_RSA_spec(&spec, &err));
  if (!jwk) return fail(errc::internal_error, "cjose RSA key: " + describe(err));
  return jwk;
}

result<unique_cjose_jwk> ec_jwk(const EVP_PKEY& key) {
  crypto::bytes x;
  crypto::bytes y;
  if (!bignum_param(key, OSSL_PKEY_PARAM_EC_PUB_X, x, 32) || !bignum_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, y, 32)) {
    return fail(errc::internal_error, "EC public point: " + crypto::drain_openssl_errors());
  }
  cjose_jwk_ec_keyspec spec{};
  spec.crv = CJOSE_JWK_EC_P_256;
  spec.x = x.data(), spec.xlen = x.size(), spec.y = y.data(), spec.ylen = y.size();
  cjose_err err{};
  unique_cjose_jwk jwk(cjose_jwk_create_EC_spec(&spec, &err));
  if (!jwk) return fail(errc::internal_error, "cjose EC key: " + describe(err));
  return jwk;
}

}  // namespace

result<unique_cjose_jwk> cjose_jwk_of(const EVP_PKEY& key) {
  switch (crypto::kind_of(key)) {
    case crypto::key_kind::rsa:
      if (crypto::key_bits(key) < 2048) {
        return fail(errc::unsupported_key, "RSA key of " + std::to_string(crypto::key_bits(key)) + " bits");
      }
      return rsa_jwk(key);
    case crypto::key_kind::ec_p256: return ec_jwk(key);
    case crypto::key_kind::other: break;
  }
  return fail(errc::unsupported_key, "only RSA (2048 bits or more) and EC P-256 keys are accepted");
}

result<shared_cjose_jwk> cached_cjose_jwk(const EVP_PKEY& key) {
  struct entry {
    const EVP_PKEY* key;
    crypto::unique_evp_pkey reference;  // keeps `key` alive, so its address stays its own
    shared_cjose_jwk jwk;
    std::uint64_t last_use;
  };
  static constexpr std::size_t capacity = 32;
  static std::mutex mutex;
  static std::vector<entry> entries;  // guarded by mutex
  static std::uint64_t clock = 0;     // guarded by mutex

  {
    const std::lock_guard lock(mutex);
    for (auto& cached : entries) {
      if (cached.key == &key) {
        cached.last_use = ++clock;
        return cached.jwk;
      }
    }
  }
  auto made = cjose_jwk_of(key);
  if (!made) return made.error();
  shared_cjose_jwk jwk(made->release(), cjose_jwk_deleter{});
  EVP_PKEY_up_ref(const_cast<EVP_PKEY*>(&key));
  crypto::unique_evp_pkey reference(const_cast<EVP_PKEY*>(&key));

  const std::lock_guard lock(mutex);
  if (entries.size() >= capacity) {
    const auto oldest = std::min_element(entries.begin(), entries.end(),
                                         [](const entry& a, const entry& b) { return a.last_use < b.last_use; });
    entries.erase(oldest);
  }
  entries.push_back({&key, std::move(reference), jwk, ++clock});
  return jwk;
}

result<unique_cjose_header> cjose_header_of(const nlohmann::json& object) {
  if (!object.is_object()) return fail(errc::internal_error, "a header must be a JSON object");
  const std::string text = object.dump();
  json_error_t error{};
  unique_cjose_header header(json_loadb(text.data(), text.size(), JSON_REJECT_DUPLICATES, &error));
  if (!header) return fail(errc::internal_error, std::string("header for cjose: ") + error.text);
  return header;
}

}  // namespace danemq::jose::detail
