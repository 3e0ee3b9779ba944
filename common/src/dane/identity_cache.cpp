#include "danemq/dane/identity_cache.hpp"

#include <algorithm>

namespace danemq::dane {

identity_cache::identity_cache(const cache_limits& limits) : limits_(limits) {}

std::optional<cached_outcome> identity_cache::find(std::string_view name, clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto found = index_.find(std::string(name));
  if (found == index_.end()) {
    ++stats_.misses;
    return std::nullopt;
  }
  auto& list = found->second->proven ? protected_ : unproven_;
  if (found->second->expires <= now) {
    ++stats_.misses;
    ++stats_.expired;
    // A protected entry keeps its place until the refresh replaces it.
    if (!found->second->proven) {
      unproven_.erase(found->second);
      index_.erase(found);
    }
    return std::nullopt;
  }
  ++stats_.hits;
  list.splice(list.begin(), list, found->second);
  return found->second->outcome;
}

identity_cache::clock::time_point identity_cache::store(std::string_view name, dane_identity_ptr identity,
                                                        std::chrono::seconds ttl, clock::time_point now) {
  const auto lifetime = std::min(ttl, limits_.max_ttl);
  const auto expires = now + lifetime;
  {
    std::lock_guard lock(mutex_);
    remember_resolved(name);
  }
  if (lifetime.count() > 0) insert(name, std::move(identity), expires);
  return expires;
}

void identity_cache::store_failure(std::string_view name, failure error, std::chrono::seconds ttl,
                                   clock::time_point now) {
  const auto lifetime = std::min(ttl, limits_.max_negative_ttl);
  if (lifetime.count() > 0) insert(name, std::move(error), now + lifetime);
}

void identity_cache::store_transient_failure(std::string_view name, failure error, clock::time_point now) {
  if (limits_.failure_ttl.count() > 0) insert(name, std::move(error), now + limits_.failure_ttl);
}

void identity_cache::insert(std::string_view name, cached_outcome outcome, clock::time_point expires) {
  if (limits_.max_entries == 0) return;
  std::lock_guard lock(mutex_);
  std::string key(name);
  if (auto found = index_.find(key); found != index_.end()) {
    // Replaced where it is: a refreshed protected entry stays protected.
    auto& list = found->second->proven ? protected_ : unproven_;
    found->second->outcome = std::move(outcome);
    found->second->expires = expires;
    list.splice(list.begin(), list, found->second);
    return;
  }
  unproven_.push_front(entry{key, std::move(outcome), expires, false});
  index_.emplace(std::move(key), unproven_.begin());
  trim_unproven();
}

void identity_cache::trim_unproven() {
  while (unproven_.size() > limits_.max_entries) {
    index_.erase(unproven_.back().name);
    unproven_.pop_back();
    ++stats_.evicted;
  }
}

void identity_cache::mark_proven(std::string_view name) {
  std::lock_guard lock(mutex_);
  auto found = index_.find(std::string(name));
  if (found == index_.end()) return;
  auto position = found->second;
  if (position->proven) {
    protected_.splice(protected_.begin(), protected_, position);
    return;
  }
  if (!std::holds_alternative<dane_identity_ptr>(position->outcome) || limits_.max_protected_entries == 0) return;
  position->proven = true;
  protected_.splice(protected_.begin(), unproven_, position);
  while (protected_.size() > limits_.max_protected_entries) {
    // Demoted, not dropped: it competes with the unproven entries again.
    protected_.back().proven = false;
    unproven_.splice(unproven_.begin(), protected_, std::prev(protected_.end()));
  }
  trim_unproven();
}

void identity_cache::remember_resolved(std::string_view name) {
  if (limits_.max_known_names == 0) return;
  std::string key(name);
  if (auto found = known_index_.find(key); found != known_index_.end()) {
    known_.splice(known_.begin(), known_, found->second);
    return;
  }
  known_.push_front(key);
  known_index_.emplace(std::move(key), known_.begin());
  while (known_.size() > limits_.max_known_names) {
    known_index_.erase(known_.back());
    known_.pop_back();
  }
}

bool identity_cache::resolved_before(std::string_view name) const {
  std::lock_guard lock(mutex_);
  return known_index_.contains(std::string(name));
}

void identity_cache::clear() {
  std::lock_guard lock(mutex_);
  unproven_.clear();
  protected_.clear();
  index_.clear();
  known_.clear();
  known_index_.clear();
}

cache_statistics identity_cache::statistics() const {
  std::lock_guard lock(mutex_);
  cache_statistics out = stats_;
  out.entries = unproven_.size() + protected_.size();
  out.protected_entries = protected_.size();
  return out;
}

}  // namespace danemq::dane
