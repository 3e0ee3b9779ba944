#pragma once
// The in-process cache of discovery results: one DNS lookup per name per TTL.
// Positive entries live for the answer's TTL capped by a maximum; NXDOMAIN
// and NODATA live for a short negative time; the least recently used entry
// goes first when the cache is full. Safe to use from several threads. Time
// is passed in, so the cache is tested without sleeping.

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
  std::size_t max_entries{1024};              ///< LRU beyond this
  std::chrono::seconds max_ttl{3600};         ///< cap on an answer's TTL
  std::chrono::seconds max_negative_ttl{30};  ///< cap for NXDOMAIN/NODATA
};

struct cache_statistics {
  std::uint64_t hits{0};
  std::uint64_t misses{0};   ///< absent or expired
  std::uint64_t expired{0};  ///< misses that found an expired entry
  std::uint64_t evicted{0};  ///< entries dropped by the LRU bound
  std::size_t entries{0};
};

/// A cached outcome: an identity (possibly with keys empty but confirming
/// records, see discovery) or the failure (nxdomain/nodata) of a lookup.
using cached_outcome = std::variant<dane_identity_ptr, failure>;

class identity_cache {
 public:
  using clock = std::chrono::steady_clock;
  explicit identity_cache(cache_limits limits = {});

  /// The live entry for `name` at `now`, counting a hit or a miss.
  [[nodiscard]] std::optional<cached_outcome> find(std::string_view name, clock::time_point now);

  /// Stores an identity until `now + min(ttl, max_ttl)`; returns that expiry.
  /// A zero TTL (or max_ttl) stores nothing.
  clock::time_point store(std::string_view name, dane_identity_ptr identity, std::chrono::seconds ttl,
                          clock::time_point now);
  /// Stores a negative answer until `now + min(ttl, max_negative_ttl)`.
  void store_failure(std::string_view name, failure error, std::chrono::seconds ttl, clock::time_point now);

  void clear();
  [[nodiscard]] cache_statistics statistics() const;
  [[nodiscard]] const cache_limits& limits() const noexcept { return limits_; }

 private:
  struct entry {
    std::string name;
    cached_outcome outcome;
    clock::time_point expires;
  };
  void insert(std::string_view name, cached_outcome outcome, clock::time_point expires);

  cache_limits limits_;
  mutable std::mutex mutex_;
  std::list<entry> lru_;  // most recently used first
  std::unordered_map<std::string, std::list<entry>::iterator> index_;
  cache_statistics stats_;
};

}  // namespace danemq::dane
