#pragma once
// DNS messages in wire form: the queries danemq sends and the answers it
// reads. Pure (bytes in, structs out) so that it is unit-tested and fuzzed
// without a network; the resolver edge (resolver.hpp) moves the bytes.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "danemq/core/result.hpp"
#include "danemq/crypto/openssl.hpp"
#include "danemq/dane/errors.hpp"

namespace danemq::dane {

/// The record types danemq asks for.
namespace rr_type {
inline constexpr std::uint16_t a = 1;
inline constexpr std::uint16_t cname = 5;
inline constexpr std::uint16_t soa = 6;
inline constexpr std::uint16_t aaaa = 28;
inline constexpr std::uint16_t ds = 43;
inline constexpr std::uint16_t rrsig = 46;
inline constexpr std::uint16_t dnskey = 48;
inline constexpr std::uint16_t tlsa = 52;
}  // namespace rr_type

/// Response codes (RFC 1035, RFC 2136).
namespace rcode {
inline constexpr std::uint8_t noerror = 0;
inline constexpr std::uint8_t servfail = 2;
inline constexpr std::uint8_t nxdomain = 3;
inline constexpr std::uint8_t refused = 5;
}  // namespace rcode

/// How a query is flagged.
struct query_flags {
  bool dnssec_ok{true};                  ///< DO: ask for RRSIGs (RFC 3225)
  bool checking_disabled{false};         ///< CD: the resolver must not filter bogus data (local validation)
  std::uint16_t edns_buffer_size{1232};  ///< our EDNS UDP payload size (DNS flag day 2020 default)
};

/// A query for `name`/`type`, class IN, RD set, with EDNS0, in wire form.
/// Failure bad_name when `name` is not a domain name.
[[nodiscard]] result<crypto::bytes> make_query(std::string_view name, std::uint16_t type, std::uint16_t id,
                                               const query_flags& flags);

/// One step of a CNAME chain.
struct cname_link {
  std::string owner;
  std::string target;
  std::uint32_t ttl{0};
  // NOLINTNEXTLINE(readability-identifier-naming): the `_` because `signed` is a keyword
  bool signed_{false};  ///< an RRSIG covering it was present
};

/// What an answer says about one question.
struct dns_answer {
  std::uint16_t id{0};
  std::uint8_t rcode{0};
  bool authenticated_data{false};               ///< AD: the resolver validated it (RFC 4035 3.2.3)
  bool truncated{false};                        ///< TC: the answer did not fit; ask again over TCP
  std::vector<cname_link> cnames;               ///< the CNAME chain from the question's name, in order
  std::string final_name;                       ///< the name the records are at (the question's, or the chain's end)
  std::vector<crypto::bytes> records;           ///< RDATA of the asked type at final_name, in answer order
  bool records_signed{false};                   ///< an RRSIG covering those records was present
  std::uint32_t ttl{0};                         ///< smallest TTL of the records and of the CNAMEs
  std::optional<std::uint32_t> negative_ttl;    ///< min(SOA TTL, SOA MINIMUM) of the authority section (RFC 2308)
  std::optional<std::uint16_t> extended_error;  ///< RFC 8914 INFO-CODE, when the resolver gave one
  std::string extended_error_text;
};

/// Parses an answer to the question `name`/`type`. Failure malformed_answer
/// when the bytes are not a DNS response, answer another question, or hold a
/// CNAME chain that loops or is longer than 8 links.
[[nodiscard]] result<dns_answer> parse_answer(std::span<const std::uint8_t> wire, std::string_view name,
                                              std::uint16_t type);

/// The failure an answer stands for, if any: nxdomain, servfail (also
/// REFUSED and other codes, named in the detail), bogus (SERVFAIL with an
/// RFC 8914 DNSSEC error such as 6 "DNSSEC Bogus"), or nodata when the name
/// exists but holds no record of the type. Success when records are present.
[[nodiscard]] result<void> answer_status(const dns_answer& answer);

/// Mnemonic of a response code ("NOERROR", "SERVFAIL", ... or "RCODE <n>").
[[nodiscard]] std::string rcode_name(std::uint8_t code);

}  // namespace danemq::dane
