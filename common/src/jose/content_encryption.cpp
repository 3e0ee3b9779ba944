#include "content_encryption.hpp"

#include <algorithm>
#include <cstring>
#include <optional>

#include "cjose_handles.hpp"
#include "cjose_inputs.hpp"
#include "danemq/jose/errors.hpp"
#include "encoding.hpp"

namespace danemq::jose::detail {
namespace {

/// cjose's "dir" mode takes the content key as a symmetric JWK.
result<unique_cjose_jwk> symmetric_jwk(std::span<const std::uint8_t> cek) {
  cjose_err err{};
  unique_cjose_jwk jwk(cjose_jwk_create_oct_spec(cek.data(), cek.size(), &err));
  if (!jwk) return fail(errc::internal_error, "cjose symmetric key: " + describe(err));
  return jwk;
}

/// The per-recipient header {"alg":"dir"}: cjose reads `alg` there before the
/// protected header, so the protected header (the authenticated data) keeps
/// the real key management algorithm while cjose uses our content key.
result<unique_cjose_header> direct_header() {
  cjose_err err{};
  unique_cjose_header header(cjose_header_new(&err));
  if (!header || !cjose_header_set(header.get(), CJOSE_HDR_ALG, CJOSE_HDR_ALG_DIR, &err)) {
    return fail(errc::internal_error, "cjose header: " + describe(err));
  }
  return header;
}

/// The string value of the member `quoted_name` in cjose's exported JSON.
std::optional<std::string> member_value(std::string_view json, std::string_view quoted_name) {
  auto at = json.find(quoted_name);
  if (at == std::string_view::npos) return std::nullopt;
  at = json.find_first_not_of(" \t\n", at + quoted_name.size());
  if (at == std::string_view::npos || json[at] != ':') return std::nullopt;
  at = json.find_first_not_of(" \t\n", at + 1);
  if (at == std::string_view::npos || json[at] != '"') return std::nullopt;
  const auto end = json.find('"', at + 1);
  if (end == std::string_view::npos) return std::nullopt;
  return std::string(json.substr(at + 1, end - at - 1));
}

}  // namespace

std::size_t content_key_size(std::string_view enc) noexcept {
  if (enc == "A256CBC-HS512") return 64;
  if (enc == "A192CBC-HS384") return 48;
  if (enc == "A128CBC-HS256") return 32;
  if (enc == "A256GCM") return 32;
  if (enc == "A192GCM") return 24;
  if (enc == "A128GCM") return 16;
  return 0;
}

result<encrypted_content> encrypt_content(const nlohmann::json& protected_header, std::span<const std::uint8_t> cek,
                                          std::string_view plaintext) {
  auto header = cjose_header_of(protected_header);
  if (!header) return header.error();
  auto key = symmetric_jwk(cek);
  if (!key) return key.error();
  auto recipient_header = direct_header();
  if (!recipient_header) return recipient_header.error();

  const cjose_jwe_recipient_t recipient{key->get(), recipient_header->get()};
  cjose_err err{};
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): bytes of the text
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(plaintext.data());
  const unique_cjose_jwe jwe(
      cjose_jwe_encrypt_multi(&recipient, 1, header->get(), nullptr, bytes, plaintext.size(), &err));
  if (!jwe) return fail(errc::internal_error, "cjose encryption: " + describe(err));
  // cjose writes a JWE with unprotected headers only as JSON.
  const unique_cjose_text exported(cjose_jwe_export_json(jwe.get(), &err));
  if (!exported) return fail(errc::internal_error, "cjose export: " + describe(err));
  // cjose's own output, whose values are all base64url: each member is read
  // as `"name"`, a colon, and the quoted value (a quote never occurs inside
  // base64url, so `"name"` can only be the key). Parsing the whole JSON
  // again would cost a tenth of an RSA signature.
  const std::string_view written(exported.get());
  encrypted_content out;
  for (auto [target, name] : {std::pair{&out.protected_b64, "\"protected\""}, std::pair{&out.iv_b64, "\"iv\""},
                              std::pair{&out.ciphertext_b64, "\"ciphertext\""}, std::pair{&out.tag_b64, "\"tag\""}}) {
    auto value = member_value(written, name);
    if (!value) return fail(errc::internal_error, std::string("cjose output lacks ") + name);
    *target = std::move(value).value();
  }
  return out;
}

result<std::string> decrypt_content(const encrypted_content& content, std::span<const std::uint8_t> cek) {
  // Base64url needs no escaping in JSON; anything else is refused here.
  for (const std::string* field :
       {&content.protected_b64, &content.iv_b64, &content.ciphertext_b64, &content.tag_b64}) {
    const bool plain = std::all_of(field->begin(), field->end(), [](char c) {
      return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    });
    if (!plain) return fail(errc::decryption_failed, "content fields are not base64url");
  }
  const std::string text = R"({"protected":")" + content.protected_b64 +
                           R"(","header":{"alg":"dir"},"encrypted_key":"","iv":")" + content.iv_b64 +
                           R"(","ciphertext":")" + content.ciphertext_b64 + R"(","tag":")" + content.tag_b64 + "\"}";
  cjose_err err{};
  const unique_cjose_jwe jwe(cjose_jwe_import_json(text.c_str(), text.size(), &err));
  if (!jwe) return fail(errc::decryption_failed, "cjose import: " + describe(err));
  auto key = symmetric_jwk(cek);
  if (!key) return key.error();
  std::size_t size = 0;
  const unique_cjose_bytes plaintext(cjose_jwe_decrypt(jwe.get(), key->get(), &size, &err));
  if (!plaintext) return fail(errc::decryption_failed);
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the plaintext as text
  return std::string(reinterpret_cast<const char*>(plaintext.get()), size);
}

}  // namespace danemq::jose::detail
