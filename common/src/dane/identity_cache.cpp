#include "danemq/dane/identity_cache.hpp"

#include <algorithm>

namespace danemq::dane {

identity_cache::identity_cache(cache_limits limits) : limits_(limits) {}

std::optional<cached_outcome> identity_cache::find(std::string_view name, clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto found = index_.find(std::string(name));
  if (found == index_.end()) {
    ++stats_.misses;
    return std::nullopt;
  }
  if (found->second->expires <= now) {
    ++stats_.misses;
    ++stats_.expired;
    lru_.erase(found->second);
    index_.erase(found);
    return std::nullopt;
  }
  ++stats_.hits;
  lru_.splice(lru_.begin(), lru_, found->second);
  return found->second->outcome;
}

identity_cache::clock::time_point identity_cache::store(std::string_view name, dane_identity_ptr identity,
                                                        std::chrono::seconds ttl, clock::time_point now) {
  const auto lifetime = std::min(ttl, limits_.max_ttl);
  const auto expires = now + lifetime;
  if (lifetime.count() > 0) insert(name, std::move(identity), expires);
  return expires;
}

void identity_cache::store_failure(std::string_view name, failure error, std::chrono::seconds ttl,
                                   clock::time_point now) {
  const auto lifetime = std::min(ttl, limits_.max_negative_ttl);
  if (lifetime.count() > 0) insert(name, std::move(error), now + lifetime);
}

void identity_cache::insert(std::string_view name, cached_outcome outcome, clock::time_point expires) {
  if (limits_.max_entries == 0) return;
  std::lock_guard lock(mutex_);
  std::string key(name);
  if (auto found = index_.find(key); found != index_.end()) {
    lru_.erase(found->second);
    index_.erase(found);
  }
  lru_.push_front(entry{key, std::move(outcome), expires});
  index_.emplace(std::move(key), lru_.begin());
  while (lru_.size() > limits_.max_entries) {
    index_.erase(lru_.back().name);
    lru_.pop_back();
    ++stats_.evicted;
  }
}

void identity_cache::clear() {
  std::lock_guard lock(mutex_);
  lru_.clear();
  index_.clear();
}

cache_statistics identity_cache::statistics() const {
  std::lock_guard lock(mutex_);
  cache_statistics out = stats_;
  out.entries = lru_.size();
  return out;
}

}  // namespace danemq::dane
