#pragma once
// The two serializations of JWS and JWE danemq reads and writes. cjose 0.6.2
// reads and writes only compact JWS, and writes flattened JWE only with its
// own member set; the original sends jwcrypto's flattened JSON at both
// layers. split_* turn either form into the base64url parts (strictly:
// nothing unknown is let through), join_* write either form (members in
// lexical order, as jwcrypto).
//
// The flattened envelopes (and an `epk` JWK) are JSON objects of string
// members; read_members takes the common spelling in one pass and leaves the
// rest to the full JSON parser.

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "danemq/core/result.hpp"
#include "danemq/jose/jws.hpp"

namespace danemq::jose::detail {

/// The three base64url parts of a JWS, as written.
struct jws_parts {
  serialization form{serialization::flattened_json};
  std::string protected_b64;
  std::string payload_b64;
  std::string signature_b64;
};

/// The five base64url parts of a single-recipient JWE, as written, plus the
/// per-recipient unprotected header of the flattened form (JSON text), if any.
struct jwe_parts {
  serialization form{serialization::flattened_json};
  std::string protected_b64;
  std::string encrypted_key_b64;
  std::string iv_b64;
  std::string ciphertext_b64;
  std::string tag_b64;
  std::optional<std::string> recipient_header_json;
};

/// A JSON object (first non-blank character '{') is read as flattened JSON with
/// exactly the members payload, protected, signature; anything else as
/// compact: three parts of base64url characters. Failure bad_format (also for
/// general JSON, an unprotected `header`, unknown members).
[[nodiscard]] result<jws_parts> split_jws(std::string_view text);
[[nodiscard]] std::string join_jws(const jws_parts& parts, serialization form);

/// Flattened JSON with members protected, iv, ciphertext, tag, optional
/// encrypted_key and optional per-recipient `header` (an object); or compact
/// with five parts. Failure bad_format (also for `recipients`, `unprotected`,
/// `aad`, unknown members).
[[nodiscard]] result<jwe_parts> split_jwe(std::string_view text);
/// Writes the parts; an empty encrypted key is left out of flattened JSON
/// (as jwcrypto does), the per-recipient header is never written.
[[nodiscard]] std::string join_jwe(const jwe_parts& parts, serialization form);

/// One member of a JSON object read by read_members.
struct json_member {
  enum class kind { string, object, other };
  std::string name;
  kind type{kind::other};
  std::string value;  ///< the string, or an object's JSON text
};

/// The members of a JSON object: plain names holding base64url strings are
/// read in one pass (members in the order written), anything else by the full
/// JSON parser (members in name order, duplicates refused at any depth).
/// Failure bad_format naming `what`.
[[nodiscard]] result<std::vector<json_member>> read_members(std::string_view text, std::string_view what);

/// Copies the string members named in `wanted` out of `members`, refusing
/// members that are not strings, members not in `wanted`, and missing
/// members not in `optional`. Failure bad_format naming `what`.
[[nodiscard]] result<void> take_string_members(const std::vector<json_member>& members, std::string_view what,
                                               std::initializer_list<std::pair<const char*, std::string*>> wanted,
                                               std::initializer_list<const char*> optional);

}  // namespace danemq::jose::detail
