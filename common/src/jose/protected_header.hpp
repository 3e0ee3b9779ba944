#pragma once
// Decoding of a JWS or JWE protected header and the checks common to both:
// what is refused whatever the algorithm.

#include <nlohmann/json.hpp>

#include <string_view>

#include "danemq/core/result.hpp"
#include "danemq/jose/jws.hpp"

namespace danemq::jose::detail {

/// Decodes a protected header: canonical base64url of a JSON object without
/// duplicate members, with a string `alg`. Refuses `crit` (we implement no
/// extension: unsupported_extension), `zip` (bad_algorithm), `b64`
/// (bad_format), and members danemq reads with the wrong JSON type
/// (bad_format). Algorithms are left to the caller's allow-list.
/// When `parsed` is given, it receives the whole header object (for the
/// members a caller reads beyond protected_header's).
[[nodiscard]] result<protected_header> decode_protected_header(std::string_view b64, nlohmann::json* parsed = nullptr);

}  // namespace danemq::jose::detail
