#pragma once
// Whether the system clock can be trusted to judge a message's age. A
// Raspberry Pi has no real-time clock: until NTP has synchronised it, its
// time may be days off, and judging `iat` then would refuse good mail for
// good. The kernel knows: adjtimex() reports TIME_ERROR / STA_UNSYNC until a
// time daemon (ntpd, chrony, systemd-timesyncd) has disciplined the clock.

#include <functional>

namespace danemq::receiver {

/// Tells whether the system clock is synchronised (tests pass their own).
using clock_status = std::function<bool()>;

/// The kernel's view (adjtimex): false while its status says the clock is not
/// synchronised. True when the status cannot be read (no such call here):
/// nothing to wait for.
[[nodiscard]] bool system_clock_synchronised();

}  // namespace danemq::receiver
