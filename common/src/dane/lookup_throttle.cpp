#include "danemq/dane/lookup_throttle.hpp"

#include <iterator>

namespace danemq::dane {

std::string throttle_zone(std::string_view name) {
  std::size_t start = 0;
  while (start < name.size()) {
    const auto dot = name.find('.', start);
    if (dot == std::string_view::npos) break;
    if (name[start] == '_') return std::string(name.substr(dot + 1));
    start = dot + 1;
  }
  const auto first_dot = name.find('.');
  if (first_dot == std::string_view::npos) return std::string(name);
  return std::string(name.substr(first_dot + 1));
}

lookup_throttle::lookup_throttle(const throttle_limits& limits) : limits_(limits) {}

result<void> lookup_throttle::enter(const std::string& zone, bool unproven, clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto found = zones_.find(zone);
  if (found != zones_.end()) {
    const auto& state = found->second;
    if (limits_.zone_failures > 0 && state.consecutive_failures >= limits_.zone_failures &&
        now < state.last_failure + limits_.zone_hold) {
      ++stats_.refused_failing;
      return fail(errc::lookup_throttled, "zone " + zone + " failed " + std::to_string(state.consecutive_failures) +
                                              " lookups in a row; not asked again for " +
                                              std::to_string(limits_.zone_hold.count()) + " s after the last");
    }
    if (limits_.per_zone > 0 && state.in_flight >= limits_.per_zone) {
      ++stats_.refused_busy;
      return fail(errc::lookup_throttled,
                  "zone " + zone + " already has " + std::to_string(state.in_flight) + " lookups under way");
    }
  }
  if (unproven && limits_.unproven > 0 && unproven_in_flight_ >= limits_.unproven) {
    ++stats_.refused_busy;
    return fail(errc::lookup_throttled,
                std::to_string(unproven_in_flight_) + " lookups of names never resolved before are under way");
  }
  if (found == zones_.end()) {
    if (zones_.size() >= limits_.max_zones) forget_idle_zones(now);
    found = zones_.emplace(zone, zone_state{}).first;
  }
  ++found->second.in_flight;
  if (unproven) ++unproven_in_flight_;
  return ok();
}

void lookup_throttle::leave(const std::string& zone, bool unproven, bool failed, clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (unproven && unproven_in_flight_ > 0) --unproven_in_flight_;
  auto found = zones_.find(zone);
  if (found == zones_.end()) return;
  auto& state = found->second;
  if (state.in_flight > 0) --state.in_flight;
  if (failed) {
    ++state.consecutive_failures;
    state.last_failure = now;
  } else {
    state.consecutive_failures = 0;
  }
}

void lookup_throttle::forget_idle_zones(clock::time_point now) {
  // First the zones with nothing to remember, then any idle one: a zone
  // under way is never forgotten, so the concurrency limits always hold.
  for (auto it = zones_.begin(); it != zones_.end();) {
    const bool holding = it->second.consecutive_failures > 0 && now < it->second.last_failure + limits_.zone_hold;
    it = it->second.in_flight == 0 && !holding ? zones_.erase(it) : std::next(it);
  }
  for (auto it = zones_.begin(); it != zones_.end() && zones_.size() >= limits_.max_zones;) {
    it = it->second.in_flight == 0 ? zones_.erase(it) : std::next(it);
  }
}

void lookup_throttle::count_refused_busy() {
  std::lock_guard lock(mutex_);
  ++stats_.refused_busy;
}

lookup_throttle::statistics lookup_throttle::stats() const {
  std::lock_guard lock(mutex_);
  auto out = stats_;
  out.zones = zones_.size();
  return out;
}

}  // namespace danemq::dane
