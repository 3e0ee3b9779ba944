#include "danemq/runtime/setting_wait.hpp"

#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <string>

#include "danemq/runtime/service_runtime.hpp"

namespace danemq::runtime {

int wait_for_missing_setting(std::ostream& err, std::string_view program, std::string_view missing,
                             std::chrono::milliseconds interval) {
  // Nothing to wind down: the stop finishes at once.
  service_runtime runtime(std::chrono::seconds(1));
  int stopped_by = 0;
  runtime.on_stop([&](int signal) {
    stopped_by = signal;
    runtime.finish();
  });
  const std::string line = std::string(program) + ": " + std::string(missing) +
                           "; waiting for it (not exiting, so a supervisor does not restart this in a loop): set it "
                           "as a Balena device or fleet variable, or in the environment, and restart the service";
  boost::asio::steady_timer reminder(runtime.io());
  std::function<void()> remind = [&] {
    err << line << std::endl;
    reminder.expires_after(interval);
    reminder.async_wait([&](const boost::system::error_code& error) {
      if (!error) remind();
    });
  };
  remind();
  (void)runtime.run();
  return stopped_by;
}

}  // namespace danemq::runtime
