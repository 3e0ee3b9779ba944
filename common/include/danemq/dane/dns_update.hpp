#pragma once
// Publishing an identity's TLSA records by RFC 2136 dynamic update signed
// with TSIG (RFC 8945), so a user whose DNS server accepts updates does not
// copy hex by hand.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "danemq/core/result.hpp"
#include "danemq/dane/errors.hpp"
#include "danemq/dane/resolver.hpp"
#include "danemq/identity/tlsa_record.hpp"

namespace danemq::dane {

/// A TSIG key. The secret is never logged nor part of any message.
struct tsig_key {
  std::string algorithm;  ///< "hmac-sha256", "hmac-sha384" or "hmac-sha512"
  std::string name;       ///< key name, without the final dot
  std::string secret;     ///< base64, as in a BIND/Knot key file
};

/// Parses DNS_UPDATE_TSIG "algorithm:keyname:base64secret". Only
/// hmac-sha256/384/512 are accepted. Failure bad_configuration naming the
/// field (never echoing the secret).
[[nodiscard]] result<tsig_key> parse_tsig_key(std::string_view text);

struct update_target {
  server_address server;  ///< DNS_UPDATE_SERVER
  tsig_key key;           ///< DNS_UPDATE_TSIG
  std::chrono::milliseconds timeout{5000};
  unsigned retries{1};
};

/// The zone `name` belongs to, as the server says (the SOA owner in its
/// answer to `name SOA`). Failure update_failed, or the resolver's errors.
[[nodiscard]] result<std::string> zone_of(const update_target& target, std::string_view name);

/// Whether the server publishes DNSKEY records at the apex of `zone`: a zone
/// without them is not signed, and no DANE peer will trust its records.
/// Failure: the resolver's errors, malformed_answer.
[[nodiscard]] result<bool> zone_is_signed(const update_target& target, std::string_view zone);

/// Replaces the TLSA RRset at `name` (and nothing else) with `records`, each
/// with `ttl`: one update, signed with the key, that deletes the RRset and
/// adds the records, sent over TCP. The answer's TSIG is verified.
/// Failure update_failed with the server's rcode (NOTAUTH, REFUSED, ...),
/// bad_name, bad_configuration, or the resolver's errors.
[[nodiscard]] result<void> replace_tlsa_records(const update_target& target, std::string_view name,
                                                const std::vector<identity::tlsa_record>& records,
                                                std::uint32_t ttl = 3600);

}  // namespace danemq::dane
