// libFuzzer target for the broker admission token parser: the MQTT password
// a client sends to a broker with danemq's plugin, before anything about it
// is known. Every input goes through parse_mqtt_token, and what parses
// through the claim checks and the signature check of a fixed EC and RSA
// key. Nothing may crash, leak or hit UB, and:
//   - an accepted token has exactly the four claims in their forms: iss a
//     canonical DNS name, aud not empty, jti of 1..64 characters, and RS256
//     or ES256 as its algorithm;
//   - every refusal is a jose error with a bounded detail (it is logged).
//   build/fuzz/bin/mqtt_token_fuzz tests/fuzz/corpus/mqtt_token -max_total_time=60

#include <openssl/evp.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "danemq/crypto/openssl.hpp"
#include "danemq/identity/dns_name.hpp"
#include "danemq/jose/mqtt_token.hpp"

namespace {

using namespace danemq;

void check_refusal(const failure& error) {
  if (error.code.category() != jose::jose_category()) std::abort();
  if (error.detail.size() > 2048) std::abort();
}

const EVP_PKEY& ec_key() {
  static const crypto::unique_evp_pkey key(EVP_EC_gen("P-256"));
  return *key;
}

const EVP_PKEY& rsa_key() {
  static const crypto::unique_evp_pkey key(EVP_RSA_gen(2048));
  return *key;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the fuzzer's bytes
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto token = jose::parse_mqtt_token(input);
  if (!token) {
    check_refusal(token.error());
    return 0;
  }
  const auto& claims = token->claims;
  auto canonical = identity::canonical_dns_name(claims.iss);
  if (!canonical || *canonical != claims.iss) std::abort();
  if (claims.aud.empty() || claims.jti.empty() || claims.jti.size() > 64) std::abort();
  if (token->jws.header.alg != "RS256" && token->jws.header.alg != "ES256") std::abort();
  if (token->jws.form != jose::serialization::compact) std::abort();

  const jose::mqtt_token_policy policy{claims.aud, std::chrono::seconds(60), std::chrono::seconds(5)};
  const auto issued = std::chrono::system_clock::time_point(std::chrono::seconds(claims.iat > 0 ? claims.iat : 0));
  if (auto checked = jose::check_mqtt_token_claims(*token, claims.iss, policy, issued); !checked) {
    // At its own iat, for its own audience, a token is fresh, unless iat is negative.
    if (claims.iat >= 0) std::abort();
    check_refusal(checked.error());
  }
  for (const EVP_PKEY* key : {&ec_key(), &rsa_key()}) {
    if (auto verified = jose::verify_mqtt_token(*token, *key); !verified) check_refusal(verified.error());
  }
  return 0;
}
