#include "danemq/core/backoff.hpp"

#include <algorithm>
#include <cmath>

namespace danemq {

backoff::backoff(backoff_policy policy, std::uint64_t seed) : policy_(policy), random_(seed) {
  policy_.multiplier = std::max(policy_.multiplier, 1.0);
  policy_.jitter = std::clamp(policy_.jitter, 0.0, 1.0);
  policy_.initial = std::max(policy_.initial, std::chrono::milliseconds(1));
  policy_.max = std::max(policy_.max, policy_.initial);
}

std::chrono::milliseconds backoff::next() {
  const double initial = static_cast<double>(policy_.initial.count());
  const double cap = static_cast<double>(policy_.max.count());
  // Exponent capped so that the power cannot overflow after many failures.
  const double exponent = std::min<double>(failures_, 64.0);
  const double nominal = std::min(cap, initial * std::pow(policy_.multiplier, exponent));
  ++failures_;
  std::uniform_real_distribution<double> spread(1.0 - policy_.jitter, 1.0 + policy_.jitter);
  const double delay = std::clamp(nominal * spread(random_), initial * (1.0 - policy_.jitter), cap);
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(delay)));
}

}  // namespace danemq
