#pragma once
// What danemq hands to cjose: OpenSSL keys as JWKs, JSON objects as headers.

#include <openssl/evp.h>

#include <nlohmann/json.hpp>

#include <memory>

#include "cjose_handles.hpp"
#include "danemq/core/result.hpp"

namespace danemq::jose::detail {

/// The cjose JWK of an RSA or EC P-256 key: the public part only, or with the
/// private part when `with_private` (the key must have one). The private
/// numbers pass through buffers that are cleansed. Failure unsupported_key,
/// internal_error.
[[nodiscard]] result<unique_cjose_jwk> cjose_jwk_of(const EVP_PKEY& key, bool with_private);

using shared_cjose_jwk = std::shared_ptr<cjose_jwk_t>;

/// cjose_jwk_of() through a small process-wide cache (the 32 keys used last),
/// keyed by the key object, which the cache keeps a reference to (so its
/// address cannot be reused by another key while cached). The reason: a
/// fresh cjose RSA key's first private operation costs about three times a
/// warm one (measured: 1170 us against 390 us for RS256), which would
/// triple the cost of sealing. Thread-safe; a cjose JWK is only read by
/// cjose, and OpenSSL's RSA and EC operations may share a key across threads.
[[nodiscard]] result<shared_cjose_jwk> cached_cjose_jwk(const EVP_PKEY& key, bool with_private);

/// A cjose header holding the members of `object`, in its order (a
/// cjose_header_t is a jansson object; cjose itself can set only string
/// members). Failure internal_error.
[[nodiscard]] result<unique_cjose_header> cjose_header_of(const nlohmann::json& object);

}  // namespace danemq::jose::detail
