#pragma once
// The byte-level rules every JOSE input passes before anything else looks at
// it: canonical base64url (one encoding per value, so a message cannot be
// altered without changing its bytes' meaning) and JSON objects without
// duplicate members (RFC 7515 section 5.2: a header read two ways is refused).

#include <nlohmann/json.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "danemq/core/result.hpp"
#include "danemq/crypto/openssl.hpp"

namespace danemq::jose::detail {

/// Unpadded base64url (RFC 7515 section 2).
[[nodiscard]] std::string base64url_encode(std::span<const std::uint8_t> data);
[[nodiscard]] std::string base64url_encode(std::string_view data);

/// Decodes unpadded base64url, refusing padding, other alphabets, a length of
/// 1 mod 4 and non-zero unused bits (bad_format naming `what`).
[[nodiscard]] result<crypto::bytes> base64url_decode(std::string_view text, std::string_view what);
[[nodiscard]] result<std::string> base64url_decode_text(std::string_view text, std::string_view what);
/// The same checks without decoding: the number of bytes `text` encodes.
[[nodiscard]] result<std::size_t> base64url_checked_size(std::string_view text, std::string_view what);

/// How deep JOSE JSON nests: a flattened JWE with an `epk` in its per-recipient
/// header is 3 levels; a general JWE's recipients one more.
inline constexpr int max_json_depth = 16;

/// Parses a JSON object, refusing other JSON values, invalid UTF-8, values
/// nested deeper than max_json_depth and objects (at any depth) with a member
/// twice. bad_format naming `what`.
[[nodiscard]] result<nlohmann::json> parse_json_object(std::string_view text, std::string_view what);

/// Attacker-chosen text made fit for a failure detail (which ends up in
/// logs): at most `limit` characters, anything but printable ASCII shown as
/// '?', in single quotes.
[[nodiscard]] std::string quoted_for_log(std::string_view text, std::size_t limit = 40);
/// The same without the quotes.
[[nodiscard]] std::string printable_for_log(std::string_view text, std::size_t limit = 300);

/// True when `text` is valid UTF-8 (no overlong forms, surrogates or values past U+10FFFF).
[[nodiscard]] bool is_valid_utf8(std::string_view text);

}  // namespace danemq::jose::detail
