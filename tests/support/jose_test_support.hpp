#pragma once
// What the jose unit tests share: real keys (committed test keys), a
// fake identity_source standing in for DANE discovery, and raw JOSE builders
// (OpenSSL EVP directly) to make the malformed or hostile messages cjose
// would refuse to produce.

#include <openssl/evp.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "danemq/dane/identity_source.hpp"
#include "danemq/identity/identity_files.hpp"
#include "danemq/jose/message.hpp"

namespace danemq::jose::test {

/// Test keys (tests/unit/jose/keys/, RSA-2048 0..9, P-256 0..5), loaded
/// once per process: `index` picks one.
[[nodiscard]] const EVP_PKEY& rsa_key(int index = 0);
[[nodiscard]] const EVP_PKEY& ec_key(int index = 0);

/// A second owner of the key.
[[nodiscard]] crypto::unique_evp_pkey share(const EVP_PKEY& key);
/// A new key object holding only the public part.
[[nodiscard]] crypto::unique_evp_pkey public_only(const EVP_PKEY& key);

/// Our identity: `name` with `key` (no files behind it).
[[nodiscard]] identity::local_identity local(std::string name, const EVP_PKEY& key);

/// DANE as the message layer sees it: names published with keys, or failing
/// with a chosen dane::errc, or throwing (to prove nothing escapes open()).
class fake_identity_source final : public dane::identity_source {
 public:
  /// Publishes `keys` (public parts only) for `name`.
  void publish(const std::string& name, const std::vector<const EVP_PKEY*>& keys, bool dnssec_secure = true);
  void fail_with(const std::string& name, dane::errc code);
  void throw_on(const std::string& name);

  [[nodiscard]] result<dane::dane_identity_ptr> discover(std::string_view name) override;
  [[nodiscard]] int lookups() const { return lookups_; }

 private:
  std::mutex mutex_;
  std::map<std::string, dane::dane_identity_ptr, std::less<>> published_;
  std::map<std::string, dane::errc, std::less<>> failing_;
  std::map<std::string, bool, std::less<>> throwing_;
  std::atomic<int> lookups_{0};
};

/// Signs `protected_json` + `payload` as a JWS with `key` by EVP alone:
/// RS256 (PKCS#1 v1.5, SHA-256) for RSA, ES256 (raw r||s) for EC, whatever
/// the header says. Returns compact or flattened JSON.
[[nodiscard]] std::string raw_jws(std::string_view protected_json, std::string_view payload, const EVP_PKEY& key,
                                  serialization form = serialization::flattened_json);

/// A JWS with an arbitrary signature value (none, HS256 with a public key as secret, ...).
[[nodiscard]] std::string raw_jws_with_signature(std::string_view protected_json, std::string_view payload,
                                                 std::string_view signature,
                                                 serialization form = serialization::flattened_json);

/// The v2 JWS protected header danemq writes, as JSON text.
[[nodiscard]] std::string v2_header(std::string_view alg, std::string_view sender, std::string_view recipient,
                                    std::int64_t iat, std::string_view jti);

/// Seconds since the epoch.
[[nodiscard]] std::int64_t seconds_of(std::chrono::system_clock::time_point t);

/// A fixed "now" for tests that pin the clock.
inline const std::chrono::system_clock::time_point test_now =
    std::chrono::system_clock::time_point(std::chrono::seconds(1'750'000'000));

}  // namespace danemq::jose::test
