#pragma once
// Who may write to a device (ALLOWED_SENDERS), and which names a broker
// admits: a list of exact DNS names and zone patterns, checked on a name
// before anything about it is looked up in DNS.

#include <string>
#include <string_view>
#include <vector>

#include "danemq/core/result.hpp"

namespace danemq::identity {

class name_allow_list {
 public:
  /// Everyone: the list of an empty setting.
  name_allow_list() = default;

  /// Parses a comma-separated list of exact names (`alice.example.net`) and
  /// zone patterns (`*.zone`: every name below `zone`, at any depth, but not
  /// `zone` itself). Names are compared in canonical form (lower case, no
  /// final dot); blanks around an entry are ignored. An empty list (or one of
  /// blanks only) allows everyone. Failure bad_dns_name naming the entry that
  /// is not a DNS name or a `*.` pattern (a `*` anywhere but as the whole
  /// first label, an empty entry between commas).
  [[nodiscard]] static result<name_allow_list> parse(std::string_view list);

  /// True when `canonical_name` (as canonical_dns_name returns it) is on the list.
  [[nodiscard]] bool allows(std::string_view canonical_name) const;

  /// True for the empty list.
  [[nodiscard]] bool allows_anyone() const { return exact_names_.empty() && zones_.empty(); }

  /// The list in canonical form, as parse() reads it back.
  [[nodiscard]] std::string to_string() const;

 private:
  std::vector<std::string> exact_names_;  ///< canonical names
  std::vector<std::string> zones_;        ///< canonical zones of the `*.` patterns, without the `*.`
};

}  // namespace danemq::identity
