#pragma once
// What danemq hands to cjose: OpenSSL keys as JWKs, JSON objects as headers.

#include <openssl/evp.h>

#include <nlohmann/json.hpp>

#include <memory>

#include "cjose_handles.hpp"
#include "danemq/core/result.hpp"

namespace danemq::jose::detail {

/// The cjose JWK of the public part of an RSA or EC P-256 key. Private keys
/// never go to cjose: its copies would live in ordinary heap memory, outside
/// OpenSSL's secure heap; danemq signs and decrypts with EVP. Failure
/// unsupported_key, internal_error.
[[nodiscard]] result<unique_cjose_jwk> cjose_jwk_of(const EVP_PKEY& key);

using shared_cjose_jwk = std::shared_ptr<cjose_jwk_t>;

/// cjose_jwk_of() through a small process-wide cache (the 32 keys used last),
/// keyed by the key object, which the cache keeps a reference to (so its
/// address cannot be reused by another key while cached): a sender's peers
/// and a receiver's senders recur, and building a JWK costs a few BIGNUM
/// exports each time. Thread-safe; a cjose JWK is only read by
/// cjose, and OpenSSL's RSA and EC operations may share a key across threads.
[[nodiscard]] result<shared_cjose_jwk> cached_cjose_jwk(const EVP_PKEY& key);

/// A cjose header holding the members of `object`, in its order (a
/// cjose_header_t is a jansson object; cjose itself can set only string
/// members). Failure internal_error.
[[nodiscard]] result<unique_cjose_header> cjose_header_of(const nlohmann::json& object);

}  // namespace danemq::jose::detail
