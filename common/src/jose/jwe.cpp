#include "danemq/jose/jwe.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <cctype>

#include "cjose_handles.hpp"
#include "cjose_inputs.hpp"
#include "content_encryption.hpp"
#include "ecdh_es.hpp"
#include "encoding.hpp"
#include "json_serialization.hpp"
#include "protected_header.hpp"
#include "rsa_oaep.hpp"

namespace danemq::jose {
namespace {

constexpr std::string_view rsa_oaep_256 = "RSA-OAEP-256";
constexpr std::string_view ecdh_es = "ECDH-ES";
constexpr std::string_view a256cbc_hs512 = "A256CBC-HS512";
constexpr std::string_view a256gcm = "A256GCM";

std::string in_quotes(std::string_view value) {
  return detail::quoted_for_log(value);
}

bool is_jwe_type(std::string_view typ) {
  // RFC 7515 4.1.9: compared case-insensitively.
  return typ.size() == 3 && std::equal(typ.begin(), typ.end(), "JWE",
                                       [](char a, char b) { return std::toupper(static_cast<unsigned char>(a)) == b; });
}

/// Moves the cleansed-on-exit bytes of a content key.
struct content_key {
  crypto::bytes bytes;
  content_key() = default;
  content_key(const content_key&) = delete;
  content_key& operator=(const content_key&) = delete;
  ~content_key() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
};

result<void> random_bytes(crypto::bytes& out) {
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
    return fail(errc::internal_error, "random bytes: " + crypto::drain_openssl_errors());
  }
  return ok();
}

/// Our key management algorithm for a key, or nothing.
std::string_view key_management_for(const EVP_PKEY& key) {
  switch (crypto::kind_of(key)) {
    case crypto::key_kind::rsa: return crypto::key_bits(key) >= 2048 ? rsa_oaep_256 : std::string_view{};
    case crypto::key_kind::ec_p256: return ecdh_es;
    case crypto::key_kind::other: break;
  }
  return {};
}

result<crypto::bytes> optional_bytes_member(const nlohmann::json& header, const char* name) {
  const auto found = header.find(name);
  if (found == header.end()) return crypto::bytes{};
  if (!found->is_string()) return fail(errc::bad_format, std::string("header member '") + name + "' is not a string");
  return detail::base64url_decode(found->get<std::string>(), name);
}

}  // namespace

result<parsed_jwe> parse_jwe(std::string_view text, std::size_t max_size, std::size_t max_plaintext_size) {
  if (text.size() > max_size) {
    return fail(errc::too_large,
                "JWE of " + std::to_string(text.size()) + " bytes (limit " + std::to_string(max_size) + ")");
  }
  auto parts = detail::split_jwe(text);
  if (!parts) return parts.error();
  nlohmann::json protected_json;
  auto header = detail::decode_protected_header(parts->protected_b64, &protected_json);
  if (!header) return header.error();

  if (header->alg != rsa_oaep_256 && header->alg != ecdh_es) {
    if (header->alg == "dir") return fail(errc::bad_algorithm, "direct encryption ('dir') is not accepted");
    return fail(errc::bad_algorithm,
                "JWE key management " + in_quotes(header->alg) + " is not accepted (RSA-OAEP-256, ECDH-ES)");
  }
  if (!header->enc) return fail(errc::bad_format, "JWE protected header has no 'enc'");
  const std::string& enc = *header->enc;
  if (enc != a256cbc_hs512 && enc != a256gcm) {
    return fail(errc::bad_algorithm,
                "JWE content encryption " + in_quotes(enc) + " is not accepted (A256CBC-HS512, A256GCM)");
  }
  if (header->typ && !is_jwe_type(*header->typ))
    return fail(errc::bad_format, "JWE 'typ' is " + in_quotes(*header->typ));

  parsed_jwe out;
  out.form = parts->form;

  // The ephemeral key of ECDH-ES: in the protected header (cjose, RFC 7518's
  // example) or alone in the per-recipient header (jwcrypto).
  std::optional<std::string> epk;
  if (const auto found = protected_json.find("epk"); found != protected_json.end()) epk = found->dump();
  if (parts->recipient_header_json) {
    auto recipient_header = detail::parse_json_object(*parts->recipient_header_json, "per-recipient header");
    if (!recipient_header) return recipient_header.error();
    for (const auto& [name, value] : recipient_header->items()) {
      if (name != "epk") {
        return fail(errc::bad_format,
                    "per-recipient header member " + detail::quoted_for_log(name) + " is not accepted");
      }
      if (epk) return fail(errc::bad_format, "'epk' appears in both headers");
      epk = value.dump();
    }
  }
  if (header->alg == ecdh_es) {
    if (!epk) return fail(errc::bad_format, "ECDH-ES without 'epk'");
    auto key = detail::p256_public_key_from_jwk(*epk);
    if (!key) return key.error();
    out.ephemeral_key = std::move(key).value();
    if (!parts->encrypted_key_b64.empty()) return fail(errc::bad_format, "ECDH-ES with an encrypted key");
    auto apu = optional_bytes_member(protected_json, "apu");
    if (!apu) return apu.error();
    auto apv = optional_bytes_member(protected_json, "apv");
    if (!apv) return apv.error();
    out.party_u_info = std::move(apu).value();
    out.party_v_info = std::move(apv).value();
  } else {
    if (epk) return fail(errc::bad_format, "'epk' without ECDH-ES");
    if (parts->encrypted_key_b64.empty()) return fail(errc::bad_format, "RSA-OAEP-256 without an encrypted key");
    auto encrypted_key = detail::base64url_decode(parts->encrypted_key_b64, "JWE encrypted key");
    if (!encrypted_key) return encrypted_key.error();
    out.encrypted_key = std::move(encrypted_key).value();
  }

  const bool gcm = enc == a256gcm;
  auto iv = detail::base64url_decode(parts->iv_b64, "JWE iv");
  if (!iv) return iv.error();
  if (iv->size() != (gcm ? 12U : 16U)) return fail(errc::bad_format, "JWE iv of the wrong length for " + enc);
  // The tag length is fixed by enc; cjose before 0.6.2.2 took a GCM tag's
  // length from the input, so a 1-byte tag could be brute-forced
  // (CVE-2023-37464). Refused here, before cjose.
  auto tag = detail::base64url_decode(parts->tag_b64, "JWE tag");
  if (!tag) return tag.error();
  if (tag->size() != (gcm ? 16U : 32U)) {
    return fail(errc::bad_format, "JWE authentication tag of " + std::to_string(tag->size()) + " bytes for " + enc);
  }
  // A ciphertext is as long as its plaintext (GCM) or at most one block
  // longer (CBC). cjose decodes it; checked here without decoding.
  auto ciphertext_size = detail::base64url_checked_size(parts->ciphertext_b64, "JWE ciphertext");
  if (!ciphertext_size) return ciphertext_size.error();
  if (*ciphertext_size > max_plaintext_size + (gcm ? 0 : 16)) {
    return fail(errc::too_large,
                "JWE ciphertext would decrypt to more than " + std::to_string(max_plaintext_size) + " bytes");
  }

  out.protected_b64 = std::move(parts->protected_b64);
  out.header = std::move(header).value();
  out.iv = std::move(iv).value();
  out.tag = std::move(tag).value();
  out.iv_b64 = std::move(parts->iv_b64);
  out.ciphertext_b64 = std::move(parts->ciphertext_b64);
  out.tag_b64 = std::move(parts->tag_b64);
  return out;
}

result<std::string> decrypt_jwe(const parsed_jwe& jwe, const crypto::private_key& private_key,
                                std::size_t max_plaintext_size) {
  const std::string_view ours = key_management_for(private_key.public_key());
  if (ours.empty()) return fail(errc::unsupported_key, "our key is neither RSA (2048 bits or more) nor EC P-256");
  if (jwe.header.alg != ours) {
    return fail(errc::bad_algorithm, in_quotes(jwe.header.alg) + " does not fit our key (" + std::string(ours) + ")");
  }
  const std::string enc = jwe.header.enc.value_or("");
  const std::size_t key_size = detail::content_key_size(enc);
  if (key_size == 0) return fail(errc::bad_algorithm, "unknown content encryption " + in_quotes(enc));

  content_key cek;
  if (jwe.header.alg == rsa_oaep_256) {
    auto unwrapped = detail::rsa_oaep256_unwrap(private_key, jwe.encrypted_key);
    // A token that is away says nothing about the message: tried again later.
    if (!unwrapped && unwrapped.error().code == errc::key_unavailable) return unwrapped.error();
    if (unwrapped && unwrapped->size() == key_size) {
      cek.bytes = std::move(unwrapped).value();
    } else {
      // RFC 7516 11.5: go on with a random key, so that a bad encrypted key
      // and a bad tag fail the same way after the same work.
      if (unwrapped) OPENSSL_cleanse(unwrapped->data(), unwrapped->size());
      cek.bytes.assign(key_size, 0);
      if (auto filled = random_bytes(cek.bytes); !filled) return filled.error();
    }
  } else {
    if (!jwe.ephemeral_key) return fail(errc::bad_format, "ECDH-ES without 'epk'");
    auto agreed = detail::ecdh_es_content_key(private_key, *jwe.ephemeral_key, enc, key_size * 8, jwe.party_u_info,
                                              jwe.party_v_info);
    if (!agreed) return agreed.error();
    cek.bytes = std::move(agreed).value();
  }

  auto plaintext = detail::decrypt_content({jwe.protected_b64, jwe.iv_b64, jwe.ciphertext_b64, jwe.tag_b64}, cek.bytes);
  if (!plaintext) return plaintext.error();
  if (plaintext->size() > max_plaintext_size) {
    return fail(errc::too_large, "plaintext of " + std::to_string(plaintext->size()) + " bytes (limit " +
                                     std::to_string(max_plaintext_size) + ")");
  }
  return plaintext;
}

result<std::string> encrypt_jwe(std::string_view plaintext, const EVP_PKEY& recipient_key, std::string_view x5u,
                                serialization form) {
  const std::string_view alg = key_management_for(recipient_key);
  if (alg.empty())
    return fail(errc::unsupported_key, "the recipient's key is neither RSA (2048 bits or more) nor EC P-256");

  if (alg == rsa_oaep_256) {
    // std::map keeps the members in lexical order, as jwcrypto writes them.
    const nlohmann::json header = {{"alg", alg}, {"enc", a256cbc_hs512}, {"typ", "JWE"}, {"x5u", x5u}};
    content_key cek;
    cek.bytes.assign(detail::content_key_size(a256cbc_hs512), 0);
    if (auto filled = random_bytes(cek.bytes); !filled) return filled.error();
    auto wrapped = detail::rsa_oaep256_wrap(recipient_key, cek.bytes);
    if (!wrapped) return wrapped.error();
    auto content = detail::encrypt_content(header, cek.bytes, plaintext);
    if (!content) return content.error();
    return detail::join_jwe(
        {serialization::compact, std::move(content->protected_b64), detail::base64url_encode(*wrapped),
         std::move(content->iv_b64), std::move(content->ciphertext_b64), std::move(content->tag_b64), std::nullopt},
        form);
  }

  auto jwk = detail::cached_cjose_jwk(recipient_key);
  if (!jwk) return jwk.error();
  auto header = detail::cjose_header_of({{"alg", ecdh_es}, {"enc", a256gcm}, {"typ", "JWE"}, {"x5u", x5u}});
  if (!header) return header.error();
  cjose_err err{};
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): bytes of the text
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(plaintext.data());
  const detail::unique_cjose_jwe jwe(cjose_jwe_encrypt(jwk->get(), header->get(), bytes, plaintext.size(), &err));
  if (!jwe) return fail(errc::internal_error, "cjose encryption: " + detail::describe(err));
  const detail::unique_cjose_text compact(cjose_jwe_export(jwe.get(), &err));
  if (!compact) return fail(errc::internal_error, "cjose export: " + detail::describe(err));
  auto parts = detail::split_jwe(compact.get());
  if (!parts) return fail(errc::internal_error, "cjose output: " + parts.error().detail);
  return detail::join_jwe(*parts, form);
}

}  // namespace danemq::jose
