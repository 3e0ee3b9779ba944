#pragma once
// What a long-running command (the receiver daemon, `danemq-sender run`,
// `danemq-maintenance watch`) does when a required setting is missing. A new
// Balena device has no IDENTITY_NAME until someone sets it: a command that
// exited would be restarted by the supervisor in a loop, filling the log
// with the same line. Instead it says once a minute what is missing and how to
// set it, and waits for SIGTERM, which setting the variable on Balena sends
// (the supervisor then restarts the service with it). One-shot commands still
// exit with their usage code.

#include <chrono>
#include <ostream>
#include <string_view>

namespace danemq::runtime {

/// Writes "<program>: <missing>; waiting for it: ..." to `err` at once and then
/// every `interval`, until SIGTERM or SIGINT. Returns the signal number.
int wait_for_missing_setting(std::ostream& err, std::string_view program, std::string_view missing,
                             std::chrono::milliseconds interval = std::chrono::minutes(1));

}  // namespace danemq::runtime
