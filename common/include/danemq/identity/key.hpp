#pragma once
// Identity keys: RSA-2048 (the only type the original's peers understand) and EC P-256.

#include <string>
#include <string_view>

#include "danemq/core/result.hpp"
#include "danemq/crypto/openssl.hpp"
#include "danemq/identity/errors.hpp"

namespace danemq::identity {

enum class key_type { rsa_2048, ec_p256 };

/// "rsa-2048" (also "rsa") or "ec-p256" (also "ec", "p256"); failure bad_key_type.
[[nodiscard]] result<key_type> parse_key_type(std::string_view text);
/// "rsa-2048" or "ec-p256".
[[nodiscard]] std::string_view to_string(key_type type) noexcept;

/// A fresh private key of the type; failure key_generation_failed.
[[nodiscard]] result<crypto::unique_evp_pkey> generate_key(key_type type);

/// Checks that a loaded key is one we accept for an identity: RSA of 2048
/// bits or more, or EC on P-256. Failure bad_key_file naming what it is.
[[nodiscard]] result<void> check_acceptable_key(const EVP_PKEY& key);

}  // namespace danemq::identity
