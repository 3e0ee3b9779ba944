#pragma once
// Publishing the identity's whole key set as its TLSA RRset, and reading
// back what DNS shows of it: shared by publish-tlsa, rotate and renew. With
// DNS_UPDATE_SERVER the RRset is replaced by a TSIG-signed dynamic update;
// without it (rotate, renew) the records are printed to publish by hand.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "danemq/core/result.hpp"
#include "danemq/dane/dns_update.hpp"
#include "danemq/identity/key_set.hpp"
#include "danemq/identity/tlsa_record.hpp"
#include "maintenance_app.hpp"

namespace danemq::maintenance {

struct tlsa_parameters {
  std::uint8_t usage{3};     ///< DANE-EE
  std::uint8_t selector{0};  ///< the whole certificate: peers get the key from DNS
  std::uint8_t matching{0};  ///< exact
};

/// The records of every key of the set, in its order (current, next,
/// previous). Failure bad_tlsa_parameters.
[[nodiscard]] result<std::vector<identity::tlsa_record>> key_set_records(const identity::key_set& keys,
                                                                         const tlsa_parameters& parameters = {});

/// Where updates go: nothing when DNS_UPDATE_SERVER is unset. Failure: the
/// one-line reason (TSIG key missing, given twice, unreadable). Warns on the
/// app's err when the TSIG secret is on the command line.
[[nodiscard]] result<std::optional<dane::update_target>> update_target_of(maintenance_app& app,
                                                                          const dns_settings& dns);

/// Publishes `records` as the whole TLSA RRset of `name` with `ttl`, or
/// without a target prints them (zone-file lines) to publish by hand.
/// Failure: the update's error (exit_dns_mismatch).
[[nodiscard]] result<void> publish_records(maintenance_app& app, const std::optional<dane::update_target>& target,
                                           const std::string& name, const std::vector<identity::tlsa_record>& records,
                                           unsigned ttl);

/// What DNS shows of a key set, through the configured resolver.
struct published_view {
  bool secure{false};                     ///< the TLSA RRset is DNSSEC-secure
  std::vector<identity::key_role> shown;  ///< the keys of the set DNS publishes (as usable records)
  std::size_t others{0};                  ///< usable keys DNS publishes that are not in the set
  std::optional<failure> error;           ///< the lookup failed (NXDOMAIN, bogus, timeout, ...)

  [[nodiscard]] bool shows(identity::key_role role) const;
};

/// Looks `keys.name` up (a fresh lookup: no cache of an earlier run).
[[nodiscard]] published_view look_at_dns(const dns_settings& dns, const identity::key_set& keys);

}  // namespace danemq::maintenance
