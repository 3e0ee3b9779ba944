#include "protected_header.hpp"

#include <cstdint>
#include <limits>

#include "encoding.hpp"

namespace danemq::jose::detail {
namespace {

using nlohmann::json;

/// Reads an optional string member; failure bad_format when present with another type.
result<std::optional<std::string>> optional_string(const json& header, const char* name) {
  const auto found = header.find(name);
  if (found == header.end()) return std::optional<std::string>{};
  if (!found->is_string()) return fail(errc::bad_format, std::string("header member '") + name + "' is not a string");
  return std::optional<std::string>(found->get<std::string>());
}

}  // namespace

result<protected_header> decode_protected_header(std::string_view b64, nlohmann::json* parsed_out) {
  if (b64.empty()) return fail(errc::bad_format, "empty protected header");
  auto text = base64url_decode_text(b64, "protected header");
  if (!text) return text.error();
  auto parsed = parse_json_object(*text, "protected header");
  if (!parsed) return parsed.error();
  const json& header = *parsed;

  protected_header out;
  out.json = std::move(text).value();

  const auto alg = header.find("alg");
  if (alg == header.end() || !alg->is_string()) return fail(errc::bad_format, "protected header has no string 'alg'");
  out.alg = alg->get<std::string>();

  // An extension we do not implement must not be ignored (RFC 7515 4.1.11);
  // we implement one, danemq's receipt, which must then be present.
  if (const auto crit = header.find("crit"); crit != header.end()) {
    const bool ours =
        crit->is_array() && crit->size() == 1 && (*crit)[0] == receipt_member && header.contains(receipt_member);
    if (!ours) return fail(errc::unsupported_extension, "header lists critical extensions ('crit') other than ours");
  } else if (header.contains(receipt_member)) {
    return fail(errc::bad_format, std::string("header member '") + receipt_member + "' is not listed in 'crit'");
  }
  // Compression before encryption leaks the plaintext through the length
  // (CRIME-like) and is a decompression-bomb vector: never accepted.
  if (header.contains("zip")) return fail(errc::bad_algorithm, "compressed content ('zip') is not accepted");
  // RFC 7797 unencoded payloads change the signing input: not accepted.
  if (header.contains("b64")) return fail(errc::bad_format, "header member 'b64' is not accepted");

  for (auto [member, name] : {std::pair{&out.enc, "enc"}, std::pair{&out.typ, "typ"}, std::pair{&out.x5u, "x5u"},
                              std::pair{&out.aud, "aud"}, std::pair{&out.jti, "jti"}}) {
    auto value = optional_string(header, name);
    if (!value) return value.error();
    *member = std::move(value).value();
  }
  if (const auto iat = header.find("iat"); iat != header.end()) {
    if (!iat->is_number_integer()) return fail(errc::bad_format, "header member 'iat' is not an integer");
    if (iat->is_number_unsigned() &&
        iat->get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return fail(errc::bad_format, "header member 'iat' is out of range");
    }
    out.iat = iat->get<std::int64_t>();
  }
  if (const auto asked = header.find(receipt_request_member); asked != header.end()) {
    if (!asked->is_boolean())
      return fail(errc::bad_format, std::string("header member '") + receipt_request_member + "' is not a boolean");
    out.receipt_request = asked->get<bool>();
  }
  if (const auto receipt = header.find(receipt_member); receipt != header.end()) {
    const auto of = receipt->is_object() ? receipt->find("of") : receipt->end();
    const auto jti = receipt->is_object() ? receipt->find("jti") : receipt->end();
    if (!receipt->is_object() || receipt->size() != 2 || of == receipt->end() || jti == receipt->end() ||
        !of->is_string() || !jti->is_string()) {
      return fail(errc::bad_format,
                  std::string("header member '") + receipt_member + "' is not {\"jti\", \"of\"} strings");
    }
    out.receipt = receipt_claim{of->get<std::string>(), jti->get<std::string>()};
  }
  if (parsed_out != nullptr) *parsed_out = std::move(parsed).value();
  return out;
}

}  // namespace danemq::jose::detail
