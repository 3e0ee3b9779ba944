#pragma once
// What one zone may cost: the names of a message's sender are chosen by
// whoever publishes it, so a zone that answers slowly or never must not
// occupy every worker. The throttle admits an uncached lookup only while
//   - its zone has fewer than `per_zone` lookups under way,
//   - for a name that never resolved, fewer than `unproven` such lookups are
//     under way in all zones together (names are free to invent, zones too),
//   - its zone has not failed `zone_failures` times in a row within the last
//     `zone_hold` (then every name of the zone fails fast until `zone_hold`
//     after the last failure; one success clears the count).
// A refusal is immediate (errc::lookup_throttled, a temporary failure), so
// the worker is free again and the message is retried later. Safe to use from
// several threads; time is passed in, so it is tested without sleeping.

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "danemq/core/result.hpp"
#include "danemq/dane/errors.hpp"

namespace danemq::dane {

struct throttle_limits {
  unsigned per_zone{2};               ///< concurrent lookups in one zone; 0: no limit
  unsigned unproven{4};               ///< concurrent lookups of never-resolved names, all zones; 0: no limit
  unsigned zone_failures{3};          ///< consecutive failures that make a zone fail fast; 0: never
  std::chrono::seconds zone_hold{5};  ///< how long it then fails fast (discovery: DANE_FAILURE_CACHE_TTL)
  std::size_t max_zones{4096};        ///< zones remembered (idle ones are forgotten first)
};

/// The zone a canonical name is counted in: the labels to the right of its
/// leftmost underscore label (`abc._device.example.net` -> `example.net`,
/// the domain whose servers answer for all its identities, whatever the
/// labels in front), or, without an underscore label, the name minus its
/// first label (`a.b.example` -> `b.example`); a one-label name is its own zone.
[[nodiscard]] std::string throttle_zone(std::string_view canonical_name);

class lookup_throttle {
 public:
  using clock = std::chrono::steady_clock;
  explicit lookup_throttle(const throttle_limits& limits = {});

  /// Admits a lookup of a name in `zone` (never resolved before: `unproven`),
  /// counting it as under way until leave(). Failure lookup_throttled saying why.
  [[nodiscard]] result<void> enter(const std::string& zone, bool unproven, clock::time_point now);
  /// Ends a lookup admitted by enter(); `failed`: it timed out or failed in a
  /// way that costs time (SERVFAIL, network, PKIX-CD fetch).
  void leave(const std::string& zone, bool unproven, bool failed, clock::time_point now);

  /// Counts a refusal made outside enter() (a second lookup of one name).
  void count_refused_busy();

  struct statistics {
    std::uint64_t refused_failing{0};  ///< refused because the zone keeps failing
    std::uint64_t refused_busy{0};     ///< refused by a concurrency limit
    std::size_t zones{0};
  };
  [[nodiscard]] statistics stats() const;
  [[nodiscard]] const throttle_limits& limits() const noexcept { return limits_; }

 private:
  struct zone_state {
    unsigned in_flight{0};
    unsigned consecutive_failures{0};
    clock::time_point last_failure{};
  };
  void forget_idle_zones(clock::time_point now);

  throttle_limits limits_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, zone_state> zones_;
  unsigned unproven_in_flight_{0};
  statistics stats_;
};

}  // namespace danemq::dane
