#pragma once
// The in-process cache of discovery results: one DNS lookup per name per TTL.
// Positive entries live for the answer's TTL capped by a maximum; NXDOMAIN
// and NODATA live for a short negative time; every other failure (timeout,
// SERVFAIL, network error, bogus, a failed PKIX-CD fetch) lives for a shorter
// failure time, so a name that stalls costs one lookup per that time, not
// one per message. Safe to use from several threads. Time is passed in, so
// the cache is tested without sleeping.
//
// Two segments, so that a flood of new names cannot push out the senders
// that matter: entries start in the unproven segment (an LRU of
// max_entries); an entry whose identity produced an accepted message is moved
// (mark_proven) into the protected segment (an LRU of max_protected_entries),
// from which only other proven entries push it, back into the unproven one.
// A protected entry that expires keeps its place, so its refresh stays
// protected. Apart from the entries, the cache remembers (bounded, LRU) the
// names that resolved successfully at least once: the receiver retries a
// temporary failure of such a name much longer than one of a name never seen.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>

#include "danemq/core/result.hpp"
#include "danemq/dane/identity_source.hpp"

namespace danemq::dane {

struct cache_limits {
  std::size_t max_entries{1024};              ///< LRU of the unproven segment
  std::chrono::seconds max_ttl{3600};         ///< cap on an answer's TTL
  std::chrono::seconds max_negative_ttl{30};  ///< cap for NXDOMAIN/NODATA
  /// DANE_FAILURE_CACHE_TTL: how long any other failure is kept (timeout,
  /// SERVFAIL, network error, bogus, failed PKIX-CD); 0 keeps none.
  std::chrono::seconds failure_ttl{5};
  std::size_t max_protected_entries{256};  ///< LRU of entries that produced an accepted message
  std::size_t max_known_names{4096};       ///< names remembered as having resolved once
};

struct cache_statistics {
  std::uint64_t hits{0};
  std::uint64_t misses{0};   ///< absent or expired
  std::uint64_t expired{0};  ///< misses that found an expired entry
  std::uint64_t evicted{0};  ///< entries dropped by the LRU bound
  std::size_t entries{0};    ///< both segments, expired protected entries included
  std::size_t protected_entries{0};
};

/// A cached outcome: an identity (possibly with keys empty but confirming
/// records, see discovery) or the failure of a lookup.
using cached_outcome = std::variant<dane_identity_ptr, failure>;

class identity_cache {
 public:
  using clock = std::chrono::steady_clock;
  explicit identity_cache(const cache_limits& limits = {});

  /// The live entry for `name` at `now`, counting a hit or a miss.
  [[nodiscard]] std::optional<cached_outcome> find(std::string_view name, clock::time_point now);

  /// Stores an identity until `now + min(ttl, max_ttl)`; returns that expiry.
  /// A zero TTL (or max_ttl) stores nothing. Either way `name` is remembered
  /// as having resolved (resolved_before).
  clock::time_point store(std::string_view name, dane_identity_ptr identity, std::chrono::seconds ttl,
                          clock::time_point now);
  /// Stores a negative answer (NXDOMAIN, NODATA) until `now + min(ttl, max_negative_ttl)`.
  void store_failure(std::string_view name, failure error, std::chrono::seconds ttl, clock::time_point now);
  /// Stores any other failure until `now + failure_ttl`.
  void store_transient_failure(std::string_view name, failure error, clock::time_point now);

  /// Moves the identity cached for `name` into the protected segment (the
  /// receiver calls it when the identity verified an accepted message).
  /// Nothing when `name` holds no identity.
  void mark_proven(std::string_view name);
  /// True when `name` resolved successfully since it was last pushed out of
  /// the bounded memory of such names.
  [[nodiscard]] bool resolved_before(std::string_view name) const;

  void clear();
  [[nodiscard]] cache_statistics statistics() const;
  [[nodiscard]] const cache_limits& limits() const noexcept { return limits_; }

 private:
  struct entry {
    std::string name;
    cached_outcome outcome;
    clock::time_point expires;
    bool proven{false};  // in protected_, else in unproven_
  };
  using entry_list = std::list<entry>;
  void insert(std::string_view name, cached_outcome outcome, clock::time_point expires);
  void remember_resolved(std::string_view name);
  void trim_unproven();

  cache_limits limits_;
  mutable std::mutex mutex_;
  entry_list unproven_;   // most recently used first
  entry_list protected_;  // most recently used first
  std::unordered_map<std::string, entry_list::iterator> index_;
  std::list<std::string> known_;  // most recently resolved first
  std::unordered_map<std::string, std::list<std::string>::iterator> known_index_;
  cache_statistics stats_;
};

}  // namespace danemq::dane
