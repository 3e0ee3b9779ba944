#include "cjose_gaps.hpp"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rsa.h>

#include <array>
#include <memory>
#include <vector>

#include "encoding.hpp"

namespace danemq::jose::detail {
namespace {

using nlohmann::json;

// The KDF handles are used nowhere else in danemq; their deleters belong with
// the others in danemq/crypto/openssl.hpp once a second user appears.
struct EvpKdfDeleter {
  void operator()(EVP_KDF* p) const noexcept { EVP_KDF_free(p); }
};
struct EvpKdfCtxDeleter {
  void operator()(EVP_KDF_CTX* p) const noexcept { EVP_KDF_CTX_free(p); }
};
using unique_evp_kdf = std::unique_ptr<EVP_KDF, EvpKdfDeleter>;
using unique_evp_kdf_ctx = std::unique_ptr<EVP_KDF_CTX, EvpKdfCtxDeleter>;

std::vector<std::string_view> split_on_dots(std::string_view text) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const auto dot = text.find('.', start);
    parts.push_back(text.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) return parts;
    start = dot + 1;
  }
}

/// Copies the string members named in `wanted` out of `object`, refusing
/// members that are not strings, members not in `wanted` or `optional`, and
/// missing members not in `optional`.
result<void> take_string_members(const json& object, std::string_view what,
                                 std::initializer_list<std::pair<const char*, std::string*>> wanted,
                                 std::initializer_list<const char*> optional) {
  for (const auto& [name, value] : object.items()) {
    bool known = false;
    for (const auto& [wanted_name, target] : wanted) {
      if (name != wanted_name) continue;
      if (!value.is_string()) return fail(errc::bad_format, std::string(what) + " member '" + name + "' is not a string");
      *target = value.get<std::string>();
      known = true;
    }
    if (!known) return fail(errc::bad_format, std::string(what) + " has an unexpected member '" + name.substr(0, 40) + "'");
  }
  for (const auto& [wanted_name, target] : wanted) {
    if (object.contains(wanted_name)) continue;
    bool is_optional = false;
    for (const char* name : optional) is_optional = is_optional || std::string_view(name) == wanted_name;
    if (!is_optional) return fail(errc::bad_format, std::string(what) + " has no '" + wanted_name + "'");
  }
  return ok();
}

crypto::unique_evp_pkey_ctx context_of(const EVP_PKEY& key) {
  // OpenSSL takes a non-const key but only up-references it.
  return crypto::unique_evp_pkey_ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, const_cast<EVP_PKEY*>(&key), nullptr));
}

bool set_oaep256(EVP_PKEY_CTX& ctx) {
  return EVP_PKEY_CTX_set_rsa_padding(&ctx, RSA_PKCS1_OAEP_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_oaep_md(&ctx, EVP_sha256()) == 1 && EVP_PKEY_CTX_set_rsa_mgf1_md(&ctx, EVP_sha256()) == 1;
}

void append_length_prefixed(crypto::bytes& out, std::span<const std::uint8_t> data) {
  const auto size = static_cast<std::uint32_t>(data.size());
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(size >> shift));
  out.insert(out.end(), data.begin(), data.end());
}

}  // namespace

result<jws_parts> split_jws(std::string_view text) {
  jws_parts parts;
  if (!text.empty() && text.front() == '{') {
    auto object = parse_json_object(text, "JWS");
    if (!object) return object.error();
    if (object->contains("signatures")) {
      return fail(errc::bad_format, "general JWS JSON serialization (several signatures) is not accepted");
    }
    if (object->contains("header")) return fail(errc::bad_format, "unprotected JWS header is not accepted");
    auto taken = take_string_members(
        *object, "JWS",
        {{"payload", &parts.payload_b64}, {"protected", &parts.protected_b64}, {"signature", &parts.signature_b64}}, {});
    if (!taken) return taken.error();
    parts.form = serialization::flattened_json;
    return parts;
  }
  const auto pieces = split_on_dots(text);
  if (pieces.size() != 3) {
    return fail(errc::bad_format, "compact JWS has " + std::to_string(pieces.size()) + " parts instead of 3");
  }
  parts.form = serialization::compact;
  parts.protected_b64 = pieces[0];
  parts.payload_b64 = pieces[1];
  parts.signature_b64 = pieces[2];
  return parts;
}

std::string join_jws(const jws_parts& parts, serialization form) {
  if (form == serialization::compact) return parts.protected_b64 + '.' + parts.payload_b64 + '.' + parts.signature_b64;
  return R"({"payload":")" + parts.payload_b64 + R"(","protected":")" + parts.protected_b64 + R"(","signature":")" +
         parts.signature_b64 + "\"}";
}

result<jwe_parts> split_jwe(std::string_view text) {
  jwe_parts parts;
  if (!text.empty() && text.front() == '{') {
    auto object = parse_json_object(text, "JWE");
    if (!object) return object.error();
    if (object->contains("recipients")) {
      return fail(errc::bad_format, "general JWE JSON serialization (several recipients) is not accepted");
    }
    if (object->contains("unprotected")) return fail(errc::bad_format, "shared unprotected JWE header is not accepted");
    if (object->contains("aad")) return fail(errc::bad_format, "JWE additional authenticated data is not accepted");
    if (const auto header = object->find("header"); header != object->end()) {
      if (!header->is_object()) return fail(errc::bad_format, "JWE per-recipient header is not an object");
      parts.recipient_header_json = header->dump();
      object->erase("header");
    }
    auto taken = take_string_members(*object, "JWE",
                                     {{"protected", &parts.protected_b64},
                                      {"encrypted_key", &parts.encrypted_key_b64},
                                      {"iv", &parts.iv_b64},
                                      {"ciphertext", &parts.ciphertext_b64},
                                      {"tag", &parts.tag_b64}},
                                     {"encrypted_key"});
    if (!taken) return taken.error();
    parts.form = serialization::flattened_json;
    return parts;
  }
  const auto pieces = split_on_dots(text);
  if (pieces.size() != 5) {
    return fail(errc::bad_format, "compact JWE has " + std::to_string(pieces.size()) + " parts instead of 5");
  }
  parts.form = serialization::compact;
  parts.protected_b64 = pieces[0];
  parts.encrypted_key_b64 = pieces[1];
  parts.iv_b64 = pieces[2];
  parts.ciphertext_b64 = pieces[3];
  parts.tag_b64 = pieces[4];
  return parts;
}

std::string join_jwe(const jwe_parts& parts, serialization form) {
  if (form == serialization::compact) {
    return parts.protected_b64 + '.' + parts.encrypted_key_b64 + '.' + parts.iv_b64 + '.' + parts.ciphertext_b64 +
           '.' + parts.tag_b64;
  }
  std::string out = R"({"ciphertext":")" + parts.ciphertext_b64 + '"';
  if (!parts.encrypted_key_b64.empty()) out += R"(,"encrypted_key":")" + parts.encrypted_key_b64 + '"';
  out += R"(,"iv":")" + parts.iv_b64 + R"(","protected":")" + parts.protected_b64 + R"(","tag":")" + parts.tag_b64 +
         "\"}";
  return out;
}

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

result<crypto::bytes> rsa_oaep256_unwrap(const EVP_PKEY& private_key, std::span<const std::uint8_t> encrypted_key) {
  if (crypto::kind_of(private_key) != crypto::key_kind::rsa) {
    return fail(errc::unsupported_key, "RSA-OAEP-256 needs an RSA key");
  }
  auto ctx = context_of(private_key);
  if (!ctx || EVP_PKEY_decrypt_init(ctx.get()) != 1 || !set_oaep256(*ctx)) {
    return fail(errc::internal_error, "RSA-OAEP-256 setup: " + crypto::drain_openssl_errors());
  }
  crypto::bytes out(static_cast<std::size_t>(EVP_PKEY_get_size(&private_key)));
  std::size_t size = out.size();
  if (encrypted_key.size() != out.size() ||
      EVP_PKEY_decrypt(ctx.get(), out.data(), &size, encrypted_key.data(), encrypted_key.size()) != 1) {
    // Which check failed must not be observable (Manger's attack).
    ERR_clear_error();
    crypto::bytes wiped(out.size());
    out.swap(wiped);
    OPENSSL_cleanse(wiped.data(), wiped.size());
    return fail(errc::decryption_failed);
  }
  out.resize(size);
  return out;
}

result<crypto::bytes> ecdh_es_content_key(const EVP_PKEY& private_key, const EVP_PKEY& ephemeral_key,
                                          std::string_view enc, std::size_t key_bits,
                                          std::span<const std::uint8_t> apu, std::span<const std::uint8_t> apv) {
  if (key_bits == 0 || key_bits % 8 != 0) return fail(errc::internal_error, "ECDH-ES: bad key length");
  auto ctx = context_of(private_key);
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1) {
    return fail(errc::internal_error, "ECDH-ES setup: " + crypto::drain_openssl_errors());
  }
  // validate_peer=1: the peer key is checked to be a point of our group.
  if (EVP_PKEY_derive_set_peer_ex(ctx.get(), const_cast<EVP_PKEY*>(&ephemeral_key), 1) != 1) {
    ERR_clear_error();
    return fail(errc::decryption_failed, "ECDH-ES: ephemeral key does not fit our key");
  }
  std::size_t secret_size = 0;
  if (EVP_PKEY_derive(ctx.get(), nullptr, &secret_size) != 1) {
    return fail(errc::internal_error, "ECDH-ES size: " + crypto::drain_openssl_errors());
  }
  crypto::bytes secret(secret_size);
  if (EVP_PKEY_derive(ctx.get(), secret.data(), &secret_size) != 1) {
    ERR_clear_error();
    return fail(errc::decryption_failed, "ECDH-ES key agreement failed");
  }
  secret.resize(secret_size);

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
  const bool derived = kdf_ctx && EVP_KDF_derive(kdf_ctx.get(), cek.data(), cek.size(), params.data()) == 1;
  OPENSSL_cleanse(secret.data(), secret.size());
  if (!derived) return fail(errc::internal_error, "Concat KDF: " + crypto::drain_openssl_errors());
  return cek;
}

result<crypto::unique_evp_pkey> p256_public_key_from_jwk(std::string_view jwk_json) {
  auto object = parse_json_object(jwk_json, "epk");
  if (!object) return object.error();
  std::string kty;
  std::string crv;
  std::string x_b64;
  std::string y_b64;
  auto taken = take_string_members(*object, "epk", {{"kty", &kty}, {"crv", &crv}, {"x", &x_b64}, {"y", &y_b64}}, {});
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
  std::array<OSSL_PARAM, 3> params{
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>("P-256"), 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()),
      OSSL_PARAM_construct_end()};
  const crypto::unique_evp_pkey_ctx ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.data()) != 1) {
    ERR_clear_error();
    return fail(errc::bad_format, "epk is not a point of P-256");
  }
  crypto::unique_evp_pkey key(raw);
  const auto check = context_of(*key);
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    ERR_clear_error();
    return fail(errc::bad_format, "epk is not a valid P-256 public key");
  }
  return key;
}

}  // namespace danemq::jose::detail
