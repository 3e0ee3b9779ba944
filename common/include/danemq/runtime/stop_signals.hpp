#pragma once
// SIGINT and SIGTERM for a command that follows something in a plain loop
// (`danemq-receiver inbox --follow`, `danemq-sender chat`) rather than on an
// io_context: both are blocked and read from a signalfd, so that the loop
// waits for a signal and its own file descriptors (a terminal) in one poll(),
// and a stop is seen between two steps, never inside one.

#include <csignal>

#include <chrono>
#include <optional>

namespace danemq::runtime {

class stop_signals {
 public:
  /// Blocks SIGINT and SIGTERM in the calling thread (threads started later
  /// inherit the mask) and opens the signalfd; throws std::system_error when it cannot.
  stop_signals();
  stop_signals(const stop_signals&) = delete;
  stop_signals& operator=(const stop_signals&) = delete;
  /// Closes the signalfd and restores the signal mask.
  ~stop_signals();

  /// Waits up to `timeout` for a stop signal or for `fd` (if given) to become
  /// readable (or closed). Returns the signal's number once one came (and
  /// from then on), else 0.
  [[nodiscard]] int wait(std::chrono::milliseconds timeout, std::optional<int> fd = std::nullopt);
  /// Whether `fd` was readable at the last wait().
  [[nodiscard]] bool readable() const noexcept { return readable_; }
  /// The signal that came, or 0.
  [[nodiscard]] int received() const noexcept { return received_; }

 private:
  int signal_fd_{-1};
  int received_{0};
  bool readable_{false};
  sigset_t old_mask_{};  ///< restored by the destructor
};

}  // namespace danemq::runtime
