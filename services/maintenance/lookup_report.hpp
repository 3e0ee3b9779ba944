#pragma once
// The report `check` and `lookup` print: what one uncached TLSA lookup found,
// each record with why it is usable or not (and the certificate's names and
// dates when the record carries one), and the verdict discovery would give.
// One fact per line, as the original's identity report.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "danemq/core/result.hpp"
#include "danemq/dane/discovery.hpp"
#include "danemq/dane/dns_message.hpp"
#include "danemq/dane/dnssec.hpp"
#include "danemq/identity/tlsa_record.hpp"

namespace danemq::maintenance {

/// One TLSA record as a report shows it.
struct record_report {
  identity::tlsa_record record;
  std::optional<failure> problem;  ///< why it is not usable (malformed, insecure, PKIX, ...)
  bool confirm_only{false};        ///< a usable hash record
  /// Filled when the record carries a whole certificate that parses.
  std::optional<std::string> subject_common_name;
  std::vector<std::string> subject_alt_names;
  std::optional<std::chrono::system_clock::time_point> not_before;
  std::optional<std::chrono::system_clock::time_point> not_after;
};

/// Everything one uncached lookup found, for `check` and `lookup`.
struct lookup_report {
  std::string name;
  std::string resolver;  ///< server asked
  dane::dnssec_mode mode{dane::dnssec_mode::resolver};
  std::optional<failure> lookup_error;  ///< NXDOMAIN, timeout, ... (records then empty)
  std::uint8_t rcode{0};
  std::optional<std::uint16_t> extended_error;
  std::string extended_error_text;
  bool authenticated_data{false};  ///< AD bit of the answer
  bool over_tcp{false};
  std::vector<dane::cname_link> cnames;
  dane::dnssec_verdict dnssec;
  std::uint32_t ttl{0};
  std::vector<record_report> records;  ///< in DNS order
  /// The verdict discover() would give: empty when a usable key (or
  /// confirming record) exists.
  std::optional<failure> verdict;
};

/// What a report concludes. Only `trusted` lets a peer use the name: a usable
/// record that carries a key, no verdict against it and an answer at all.
enum class verdict_kind {
  trusted,
  refused,               ///< DNS answered, and what it says is not usable
  resolver_unreachable,  ///< no answer (timeout, network error): nothing is known
};

/// The verdict of a report (see verdict_kind).
[[nodiscard]] verdict_kind verdict_of(const lookup_report& report);

/// An uncached lookup of `name` through `source`, reporting every TLSA record
/// found with its parse status and DNSSEC status. Failures are in the report.
[[nodiscard]] lookup_report report_lookup(const dane::discovery& source, std::string_view name);

/// The report as one JSON object (one line): name, resolver,
/// dnssec_validation, verdict ("trusted", "refused", "resolver_unreachable")
/// and reason, answer (rcode, authenticated_data, over_tcp, ttl,
/// extended_error), dnssec {status, reason}, cnames, and records, each with
/// usage, selector, matching, data (hex), status ("usable", "confirm_only",
/// "not_usable"), problem and the certificate's names and dates.
[[nodiscard]] std::string report_json(const lookup_report& report);

/// The verdict's name in report_json.
[[nodiscard]] std::string_view to_string(verdict_kind verdict) noexcept;

/// Human-readable text of a report, one fact per line.
[[nodiscard]] std::string format_report(const lookup_report& report);

}  // namespace danemq::maintenance
