#pragma once
// What discovery tells about its lookups to whoever counts them (the
// services' metrics), so that the library itself knows no metrics system.

#include <string_view>
#include <system_error>

#include "danemq/dane/errors.hpp"

namespace danemq::dane {

class lookup_observer {
 public:
  virtual ~lookup_observer() = default;
  /// A lookup answered from the cache (an identity or a cached failure).
  virtual void cache_hit() noexcept = 0;
  /// An uncached TLSA lookup ended: no error with an identity, else the
  /// failure's code (lookup_throttled: not asked, the zone is held back).
  virtual void looked_up(std::error_code outcome) noexcept = 0;
};

/// A short name for `outcome`, fit for a metric label: "ok" for no error,
/// the enumerator's name for a DANE error ("nxdomain", "timeout", ...),
/// "other" for a code of another category.
[[nodiscard]] std::string_view outcome_name(std::error_code outcome) noexcept;

}  // namespace danemq::dane
