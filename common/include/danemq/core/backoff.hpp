#pragma once
// Bounded exponential back-off with jitter: the delay before each retry of
// something that failed (a broker connection, a DNS lookup, an identity
// check) doubles from `initial` up to `max`, and is spread by ±`jitter` so
// that a fleet restarted together does not retry in lockstep.

#include <chrono>
#include <cstdint>
#include <random>

namespace danemq {

struct backoff_policy {
  std::chrono::milliseconds initial{200};                   ///< delay after the first failure
  std::chrono::milliseconds max{std::chrono::seconds(30)};  ///< cap on any delay
  double multiplier{2.0};                                   ///< growth per failure (>= 1)
  double jitter{0.2};                                       ///< fraction of spread, 0..1
};

class backoff {
 public:
  explicit backoff(backoff_policy policy = {}, std::uint64_t seed = std::random_device{}());

  /// The delay before the next attempt; each call counts one more failure.
  /// Always within [initial*(1-jitter), max].
  [[nodiscard]] std::chrono::milliseconds next();
  /// After a success: the next failure starts again from `initial`.
  void reset() noexcept { failures_ = 0; }
  [[nodiscard]] unsigned failures() const noexcept { return failures_; }
  [[nodiscard]] const backoff_policy& policy() const noexcept { return policy_; }

 private:
  backoff_policy policy_;
  unsigned failures_{0};
  std::mt19937_64 random_;
};

}  // namespace danemq
