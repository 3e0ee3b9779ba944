#pragma once
// Identity names are DNS names: the MQTT topic, the TLSA owner and the JOSE x5u.

#include <string>
#include <string_view>

#include "danemq/core/result.hpp"
#include "danemq/identity/errors.hpp"

namespace danemq::identity {

/// Validates a DNS name and returns it in canonical form: lowercase, without
/// the trailing dot. Rules: 1..63 octets a label, at most 253 octets in all
/// (without the final dot), letters, digits and hyphens (not first or last in
/// a label) plus '_' (service labels such as `_device`, which the PKIX-CD
/// authority rule relies on). At least two labels are not required: test
/// zones and local names (`alice`) are allowed.
/// Failure bad_dns_name with the reason (which label, which rule).
[[nodiscard]] result<std::string> canonical_dns_name(std::string_view name);

}  // namespace danemq::identity
