#include "cjose_gaps.hpp"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <array>
#include <memory>
#include <optional>
#include <vector>

#include "encoding.hpp"

namespace danemq::jose::detail {
namespace {

using nlohmann::json;

using crypto::unique_evp_kdf;
using crypto::unique_evp_kdf_ctx;

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

/// One member of a flattened serialization's JSON object.
struct envelope_member {
  enum class kind { string, object, other };
  std::string name;
  kind type{kind::other};
  std::string value;  ///< the string, or an object's JSON text
};

bool is_json_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
bool is_base64url_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/// The envelopes danemq, cjose and jwcrypto write are one JSON object whose
/// members are plain names holding base64url strings. Those are read here in
/// one pass, several times faster than a general JSON parser; anything
/// outside that subset (a nested object, an escape, another value type, a
/// member twice, a syntax error) gives nullopt and goes to the full parser,
/// which accepts or refuses it by the JSON rules.
std::optional<std::vector<envelope_member>> scan_plain_envelope(std::string_view text) {
  std::size_t at = 0;
  const auto skip_space = [&] {
    while (at < text.size() && is_json_space(text[at])) ++at;
  };
  const auto expect = [&](char c) {
    skip_space();
    if (at >= text.size() || text[at] != c) return false;
    ++at;
    return true;
  };
  /// A quoted run of characters accepted by `allowed`, without its quotes.
  const auto quoted = [&](bool (*allowed)(char)) -> std::optional<std::string_view> {
    if (!expect('"')) return std::nullopt;
    const std::size_t start = at;
    while (at < text.size() && allowed(text[at])) ++at;
    if (at >= text.size() || text[at] != '"') return std::nullopt;
    return text.substr(start, at++ - start);
  };
  std::vector<envelope_member> members;
  if (!expect('{')) return std::nullopt;
  skip_space();
  if (at < text.size() && text[at] == '}') {
    ++at;
  } else {
    while (true) {
      const auto name = quoted([](char c) { return (c >= 'a' && c <= 'z') || c == '_'; });
      if (!name || !expect(':')) return std::nullopt;
      const auto value = quoted(is_base64url_char);
      if (!value) return std::nullopt;
      for (const auto& member : members) {
        if (member.name == *name) return std::nullopt;
      }
      members.push_back({std::string(*name), envelope_member::kind::string, std::string(*value)});
      if (expect(',')) continue;
      if (!expect('}')) return std::nullopt;
      break;
    }
  }
  skip_space();
  if (at != text.size()) return std::nullopt;
  return members;
}

/// The members of a flattened serialization: the fast path above, or the
/// full JSON parser (duplicates refused). Failure bad_format.
result<std::vector<envelope_member>> read_envelope(std::string_view text, std::string_view what) {
  if (auto plain = scan_plain_envelope(text)) return std::move(plain).value();
  auto object = parse_json_object(text, what);
  if (!object) return object.error();
  std::vector<envelope_member> members;
  for (const auto& [name, value] : object->items()) {
    envelope_member member{name, envelope_member::kind::other, {}};
    if (value.is_string()) {
      member.type = envelope_member::kind::string;
      member.value = value.get<std::string>();
    } else if (value.is_object()) {
      member.type = envelope_member::kind::object;
      member.value = value.dump();
    }
    members.push_back(std::move(member));
  }
  return members;
}

/// Copies the string members named in `wanted` out of `members`, refusing
/// members that are not strings, members not in `wanted`, and missing
/// members not in `optional`.
result<void> take_string_members(const std::vector<envelope_member>& members, std::string_view what,
                                 std::initializer_list<std::pair<const char*, std::string*>> wanted,
                                 std::initializer_list<const char*> optional) {
  for (const auto& member : members) {
    bool known = false;
    for (const auto& [wanted_name, target] : wanted) {
      if (member.name != wanted_name) continue;
      if (member.type != envelope_member::kind::string) {
        return fail(errc::bad_format, std::string(what) + " member '" + member.name + "' is not a string");
      }
      *target = member.value;
      known = true;
    }
    if (!known) {
      return fail(errc::bad_format, std::string(what) + " has an unexpected member " + quoted_for_log(member.name));
    }
  }
  for (const auto& wanted_member : wanted) {
    // A plain variable: clang 14 cannot capture a structured binding.
    const std::string_view wanted_name = wanted_member.first;
    const bool present = std::any_of(members.begin(), members.end(),
                                     [&](const envelope_member& member) { return member.name == wanted_name; });
    const bool is_optional = std::any_of(optional.begin(), optional.end(),
                                         [&](const char* name) { return std::string_view(name) == wanted_name; });
    if (!present && !is_optional) {
      return fail(errc::bad_format, std::string(what) + " has no '" + std::string(wanted_name) + "'");
    }
  }
  return ok();
}

/// JSON serialization when the first non-blank character opens an object;
/// compact otherwise (which has no blanks at all).
bool looks_like_json(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && text[first] == '{';
}

bool has_member(const std::vector<envelope_member>& members, std::string_view name) {
  return std::any_of(members.begin(), members.end(),
                     [&](const envelope_member& member) { return member.name == name; });
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
  if (looks_like_json(text)) {
    auto members = read_envelope(text, "JWS");
    if (!members) return members.error();
    if (has_member(*members, "signatures")) {
      return fail(errc::bad_format, "general JWS JSON serialization (several signatures) is not accepted");
    }
    if (has_member(*members, "header")) return fail(errc::bad_format, "unprotected JWS header is not accepted");
    auto taken = take_string_members(
        *members, "JWS",
        {{"payload", &parts.payload_b64}, {"protected", &parts.protected_b64}, {"signature", &parts.signature_b64}},
        {});
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
  if (looks_like_json(text)) {
    auto members = read_envelope(text, "JWE");
    if (!members) return members.error();
    if (has_member(*members, "recipients")) {
      return fail(errc::bad_format, "general JWE JSON serialization (several recipients) is not accepted");
    }
    if (has_member(*members, "unprotected"))
      return fail(errc::bad_format, "shared unprotected JWE header is not accepted");
    if (has_member(*members, "aad")) return fail(errc::bad_format, "JWE additional authenticated data is not accepted");
    const auto header = std::find_if(members->begin(), members->end(),
                                     [](const envelope_member& member) { return member.name == "header"; });
    if (header != members->end()) {
      if (header->type != envelope_member::kind::object) {
        return fail(errc::bad_format, "JWE per-recipient header is not an object");
      }
      parts.recipient_header_json = header->value;
      members->erase(header);
    }
    auto taken = take_string_members(*members, "JWE",
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
    return parts.protected_b64 + '.' + parts.encrypted_key_b64 + '.' + parts.iv_b64 + '.' + parts.ciphertext_b64 + '.' +
           parts.tag_b64;
  }
  std::string out = R"({"ciphertext":")" + parts.ciphertext_b64 + '"';
  if (!parts.encrypted_key_b64.empty()) out += R"(,"encrypted_key":")" + parts.encrypted_key_b64 + '"';
  out +=
      R"(,"iv":")" + parts.iv_b64 + R"(","protected":")" + parts.protected_b64 + R"(","tag":")" + parts.tag_b64 + "\"}";
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
                                          std::string_view enc, std::size_t key_bits, std::span<const std::uint8_t> apu,
                                          std::span<const std::uint8_t> apv) {
  if (key_bits == 0 || key_bits % 8 != 0) return fail(errc::internal_error, "ECDH-ES: bad key length");
  auto ctx = context_of(private_key);
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1) {
    return fail(errc::internal_error, "ECDH-ES setup: " + crypto::drain_openssl_errors());
  }
  // The ephemeral key was validated when it was read (p256_public_key_from_jwk):
  // a second, full check here would double the cost of the key agreement.
  if (EVP_PKEY_derive_set_peer_ex(ctx.get(), const_cast<EVP_PKEY*>(&ephemeral_key), 0) != 1) {
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
  auto members = read_envelope(jwk_json, "epk");
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
