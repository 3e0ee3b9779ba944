#include "danemq/jose/jws.hpp"

#include <openssl/ec.h>
#include <openssl/evp.h>

#include <cstring>

#include "cjose_handles.hpp"
#include "cjose_inputs.hpp"
#include "encoding.hpp"
#include "json_serialization.hpp"
#include "protected_header.hpp"

namespace danemq::jose {
namespace {

/// The JWS alg a key signs with, or nothing for keys outside the allow-list.
const char* signature_algorithm_for(const EVP_PKEY& key) {
  switch (crypto::kind_of(key)) {
    case crypto::key_kind::rsa: return crypto::key_bits(key) >= 2048 ? "RS256" : nullptr;
    case crypto::key_kind::ec_p256: return "ES256";
    case crypto::key_kind::other: break;
  }
  return nullptr;
}

std::string in_quotes(std::string_view value) {
  return detail::quoted_for_log(value);
}

result<void> check_signature_algorithm(std::string_view alg) {
  if (alg == "RS256" || alg == "ES256") return ok();
  if (alg == "none") return fail(errc::bad_algorithm, "unsigned JWS (alg 'none') is not accepted");
  if (alg.substr(0, 2) == "HS") {
    return fail(errc::bad_algorithm,
                "HMAC signature " + in_quotes(alg) + " is not accepted (public keys are not secrets)");
  }
  return fail(errc::bad_algorithm, "JWS algorithm " + in_quotes(alg) + " is not accepted (RS256, ES256)");
}

}  // namespace

result<parsed_jws> parse_jws(std::string_view text, std::size_t max_size) {
  if (text.size() > max_size) {
    return fail(errc::too_large,
                "JWS of " + std::to_string(text.size()) + " bytes (limit " + std::to_string(max_size) + ")");
  }
  auto parts = detail::split_jws(text);
  if (!parts) return parts.error();
  auto header = detail::decode_protected_header(parts->protected_b64);
  if (!header) return header.error();
  if (auto accepted = check_signature_algorithm(header->alg); !accepted) return accepted.error();
  auto payload = detail::base64url_decode_text(parts->payload_b64, "JWS payload");
  if (!payload) return payload.error();
  if (parts->signature_b64.empty()) return fail(errc::bad_format, "JWS without signature");
  if (auto signature = detail::base64url_decode(parts->signature_b64, "JWS signature"); !signature) {
    return signature.error();
  }
  parsed_jws out;
  out.form = parts->form;
  out.protected_b64 = std::move(parts->protected_b64);
  out.payload_b64 = std::move(parts->payload_b64);
  out.signature_b64 = std::move(parts->signature_b64);
  out.header = std::move(header).value();
  out.payload = std::move(payload).value();
  return out;
}

result<void> verify_jws(const parsed_jws& jws, const EVP_PKEY& key) {
  const char* fitting = signature_algorithm_for(key);
  if (fitting == nullptr || jws.header.alg != fitting) {
    return fail(errc::bad_algorithm, in_quotes(jws.header.alg) + " does not fit the signer's " +
                                         (fitting != nullptr ? std::string(fitting) + " key" : "key type"));
  }
  // The signature length is fixed by the key: a shorter or longer one is
  // refused before cjose sees it.
  const std::size_t expected = jws.header.alg == "ES256" ? 64 : static_cast<std::size_t>(EVP_PKEY_get_size(&key));
  if ((jws.signature_b64.size() * 6) / 8 != expected) {
    return fail(errc::signature_failed, "signature of the wrong length for " + jws.header.alg);
  }
  auto jwk = detail::cached_cjose_jwk(key);
  if (!jwk) return jwk.error();
  const std::string compact = detail::join_jws(
      {serialization::compact, jws.protected_b64, jws.payload_b64, jws.signature_b64}, serialization::compact);
  cjose_err err{};
  const detail::unique_cjose_jws imported(cjose_jws_import(compact.c_str(), compact.size(), &err));
  if (!imported) return fail(errc::signature_failed, "cjose refused the JWS: " + detail::describe(err));
  if (!cjose_jws_verify(imported.get(), jwk->get(), &err)) return fail(errc::signature_failed);
  return ok();
}

result<std::string> sign_jws(std::string_view payload, const crypto::private_key& key, const jws_header_fields& fields,
                             serialization form) {
  const char* alg = signature_algorithm_for(key.public_key());
  if (alg == nullptr) return fail(errc::unsupported_key, "only RSA (2048 bits or more) and EC P-256 keys sign");
  // std::map keeps the members in lexical order and dump() writes them
  // compact, as jwcrypto does.
  nlohmann::json members = {{"alg", alg}, {"x5u", fields.x5u}};
  if (fields.aud) members["aud"] = *fields.aud;
  if (fields.iat) members["iat"] = *fields.iat;
  if (fields.jti) members["jti"] = *fields.jti;
  if (fields.receipt_request) members[receipt_request_member] = true;
  if (fields.receipt) {
    // Receivers that do not know receipts must refuse them, not show them
    // as an (empty) message: RFC 7515 4.1.11.
    members[receipt_member] = {{"jti", fields.receipt->jti}, {"of", fields.receipt->of}};
    members["crit"] = nlohmann::json::array({receipt_member});
  }
  detail::jws_parts parts;
  parts.form = serialization::compact;
  parts.protected_b64 = detail::base64url_encode(members.dump());
  parts.payload_b64 = detail::base64url_encode(payload);
  // With EVP or the token, not cjose: the private key stays in OpenSSL's
  // secure heap (or in the token) instead of being copied into cjose's
  // ordinary heap memory.
  const std::string signing_input = parts.protected_b64 + "." + parts.payload_b64;
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): bytes of the text
  auto signature = key.sign_sha256({reinterpret_cast<const std::uint8_t*>(signing_input.data()), signing_input.size()});
  if (!signature) {
    if (signature.error().code == crypto::errc::key_unavailable) {
      return fail(errc::key_unavailable, signature.error().detail);
    }
    return fail(errc::internal_error, "signing: " + signature.error().message());
  }
  parts.signature_b64 = detail::base64url_encode(*signature);
  return detail::join_jws(parts, form);
}

std::string note_digest(std::string_view protected_b64, std::string_view payload_b64) {
  std::string input;
  input.reserve(protected_b64.size() + 1 + payload_b64.size());
  input.append(protected_b64).append(".").append(payload_b64);
  crypto::bytes digest(EVP_MAX_MD_SIZE);
  unsigned int length = 0;
  if (EVP_Digest(input.data(), input.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1) return {};
  digest.resize(length);
  return detail::base64url_encode(digest);
}

}  // namespace danemq::jose
