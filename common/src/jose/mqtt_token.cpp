#include "danemq/jose/mqtt_token.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <limits>

#include "danemq/identity/dns_name.hpp"
#include "danemq/jose/dns_uri.hpp"
#include "encoding.hpp"

namespace danemq::jose {
namespace {

using nlohmann::json;

constexpr std::size_t max_jti_size = 64;

/// The audience as compared: lower case, without a final dot, so that
/// "Broker.Example.NET." and "broker.example.net" are one broker.
std::string comparable_audience(std::string_view audience) {
  std::string out(audience);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  if (out.size() > 1 && out.back() == '.') out.pop_back();
  return out;
}

result<std::string> string_claim(const json& claims, const char* name) {
  const auto found = claims.find(name);
  if (found == claims.end() || !found->is_string()) {
    return fail(errc::bad_format, std::string("token claim '") + name + "' is missing or not a string");
  }
  return found->get<std::string>();
}

result<mqtt_token_claims> decode_claims(std::string_view payload) {
  auto parsed = detail::parse_json_object(payload, "token claims");
  if (!parsed) return parsed.error();
  const json& claims = *parsed;
  if (claims.size() != 4) return fail(errc::bad_format, "token claims are not exactly iss, aud, iat, jti");
  mqtt_token_claims out;
  for (auto [member, name] : {std::pair{&out.iss, "iss"}, std::pair{&out.aud, "aud"}, std::pair{&out.jti, "jti"}}) {
    auto value = string_claim(claims, name);
    if (!value) return value.error();
    *member = std::move(value).value();
  }
  const auto iat = claims.find("iat");
  if (iat == claims.end() || !iat->is_number_integer()) {
    return fail(errc::bad_format, "token claim 'iat' is missing or not an integer");
  }
  if (iat->is_number_unsigned() &&
      iat->get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return fail(errc::bad_format, "token claim 'iat' is out of range");
  }
  out.iat = iat->get<std::int64_t>();
  auto canonical = identity::canonical_dns_name(out.iss);
  if (!canonical || *canonical != out.iss) return fail(errc::bad_format, "token issuer is not a canonical DNS name");
  if (out.aud.empty()) return fail(errc::bad_format, "token audience is empty");
  if (out.jti.empty() || out.jti.size() > max_jti_size) {
    return fail(errc::bad_format, "token jti is empty or over " + std::to_string(max_jti_size) + " characters");
  }
  return out;
}

result<std::string> random_jti() {
  crypto::bytes random(16);
  if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) {
    return fail(errc::internal_error, "random jti: " + crypto::drain_openssl_errors());
  }
  return detail::base64url_encode(random);
}

}  // namespace

result<std::string> make_mqtt_token(std::string_view name, std::string_view audience, const crypto::private_key& key,
                                    std::chrono::system_clock::time_point now) {
  auto iss = identity::canonical_dns_name(name);
  if (!iss) return fail(errc::bad_format, "token issuer: " + iss.error().detail);
  if (audience.empty()) return fail(errc::bad_format, "token audience is empty");
  auto jti = random_jti();
  if (!jti) return jti.error();
  const json claims = {{"aud", std::string(audience)},
                       {"iat", std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count()},
                       {"iss", *iss},
                       {"jti", *jti}};
  jws_header_fields fields;
  fields.x5u = dns_uri(*iss);
  return sign_jws(claims.dump(), key, fields, serialization::compact);
}

result<parsed_mqtt_token> parse_mqtt_token(std::string_view text) {
  if (text.size() > max_mqtt_token_size) {
    return fail(errc::too_large, "token of " + std::to_string(text.size()) + " bytes (limit " +
                                     std::to_string(max_mqtt_token_size) + ")");
  }
  // A flattened-JSON JWS would parse too: a token is compact only.
  if (std::count(text.begin(), text.end(), '.') != 2) return fail(errc::bad_format, "token is not a compact JWS");
  auto jws = parse_jws(text, max_mqtt_token_size);
  if (!jws) return jws.error();
  if (jws->form != serialization::compact) return fail(errc::bad_format, "token is not a compact JWS");
  auto claims = decode_claims(jws->payload);
  if (!claims) return claims.error();
  return parsed_mqtt_token{std::move(jws).value(), std::move(claims).value()};
}

result<void> check_mqtt_token_claims(const parsed_mqtt_token& token, std::string_view user,
                                     const mqtt_token_policy& policy, std::chrono::system_clock::time_point now) {
  auto name = identity::canonical_dns_name(user);
  if (!name || *name != token.claims.iss) return fail(errc::bad_format, "token issuer is not the user name");
  if (comparable_audience(token.claims.aud) != comparable_audience(policy.audience)) {
    return fail(errc::not_for_us, "token is for audience " + detail::quoted_for_log(token.claims.aud));
  }
  const std::int64_t now_seconds = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  // Compared without subtracting the claim (any int64 arrives here): the
  // bounds are computed from the clock, far from overflow.
  if (token.claims.iat > now_seconds + policy.allowed_skew.count()) {
    return fail(errc::from_the_future,
                "token issued " + std::to_string(token.claims.iat - now_seconds) + " s in the future");
  }
  if (token.claims.iat < now_seconds - policy.max_age.count()) {
    return fail(errc::too_old, "token issued at " + std::to_string(token.claims.iat) + ", over " +
                                   std::to_string(policy.max_age.count()) + " s ago");
  }
  return ok();
}

result<void> verify_mqtt_token(const parsed_mqtt_token& token, const EVP_PKEY& key) {
  return verify_jws(token.jws, key);
}

}  // namespace danemq::jose
