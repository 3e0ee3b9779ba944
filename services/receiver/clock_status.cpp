#include "clock_status.hpp"

#include <sys/timex.h>

namespace danemq::receiver {

bool system_clock_synchronised() {
  timex status{};  // modes 0: only reads
  const int state = ::adjtimex(&status);
  if (state == -1) return true;
  return state != TIME_ERROR && (status.status & STA_UNSYNC) == 0;
}

}  // namespace danemq::receiver
