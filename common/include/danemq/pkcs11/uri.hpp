#pragma once
// PKCS#11 URIs (RFC 7512) naming a key in a token, e.g.
// pkcs11:token=danemq;object=abc123._device.example.net;type=private
// The PIN never travels in the URI: pin-value is refused (PKCS11_PIN_FILE).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "danemq/core/result.hpp"
#include "danemq/pkcs11/errors.hpp"

namespace danemq::pkcs11 {

/// The attributes of a URI that select a token and a key object.
struct uri {
  std::optional<std::string> token;             ///< token label
  std::optional<std::string> manufacturer;      ///< token manufacturer
  std::optional<std::string> serial;            ///< token serial number
  std::optional<std::string> model;             ///< token model
  std::optional<std::string> object;            ///< CKA_LABEL of the key objects
  std::optional<std::vector<std::uint8_t>> id;  ///< CKA_ID of the key objects
  std::optional<std::string> type;              ///< private, public, cert, secret-key or data
};

/// Parses `pkcs11:` + path attributes separated by `;`, percent-decoded, plus
/// query attributes (`?`) of which only `module-path` is ignored and
/// `pin-source` / `pin-value` are refused. Failure bad_uri naming what is
/// wrong: no `pkcs11:` scheme, an unknown or repeated path attribute, bad
/// percent-encoding, no `object` and no `id`, a `type` other than private.
[[nodiscard]] result<uri> parse_uri(std::string_view text);

/// The URI's text, percent-encoded where needed (for messages and logs).
[[nodiscard]] std::string to_string(const uri& key);

}  // namespace danemq::pkcs11
