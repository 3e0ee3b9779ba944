#pragma once
// What every long-running command shares (the receiver daemon, `danemq-sender
// run`, `danemq-maintenance watch`): one io_context on which the service's
// handlers run, SIGINT and SIGTERM that begin a stop, SIGPIPE ignored (a peer
// closing a TLS connection must not kill the process), and a stop that is
// cut short when it outlasts its grace.
//
// A stop begins once, from a signal, request_stop() or begin_stop(): the
// service's stop handler runs on the io thread and winds down; the service
// calls finish() when it is done. If it has not by the deadline, its
// deadline handler runs (to keep what is left for the next start) and run()
// returns.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <functional>

namespace danemq::runtime {

class service_runtime {
 public:
  /// Told that a stop began: the signal number, or 0 for request_stop()/begin_stop().
  using stop_handler = std::function<void(int signal)>;
  /// Told that the grace passed before finish().
  using deadline_handler = std::function<void()>;

  /// Ignores SIGPIPE for the whole process and catches SIGINT/SIGTERM from
  /// now on (served once run() runs). `grace`: how long a stop may take.
  explicit service_runtime(std::chrono::milliseconds grace);
  service_runtime(const service_runtime&) = delete;
  service_runtime& operator=(const service_runtime&) = delete;

  /// Before run(): what to do when a stop begins, and when its grace passed.
  void on_stop(stop_handler begin, deadline_handler at_deadline = {});

  [[nodiscard]] boost::asio::io_context& io() noexcept { return io_; }
  [[nodiscard]] boost::asio::any_io_executor executor() noexcept { return io_.get_executor(); }

  /// Runs the handlers, SIGINT/SIGTERM beginning a stop, until finish() or the
  /// end of the grace. True when the service finished in time.
  bool run();
  /// From any thread: begins a stop as SIGTERM would.
  void request_stop();
  /// On the io thread: begins a stop (once; later calls do nothing).
  void begin_stop(int signal = 0);
  /// On the io thread: the service has wound down; run() returns.
  void finish();

  /// True once a stop began.
  [[nodiscard]] bool stopping() const noexcept { return stopping_.load(); }
  /// When the grace of the stop under way ends (unset before a stop).
  [[nodiscard]] std::chrono::steady_clock::time_point deadline() const noexcept { return deadline_; }
  [[nodiscard]] std::chrono::milliseconds grace() const noexcept { return grace_; }

 private:
  std::chrono::milliseconds grace_;
  boost::asio::io_context io_;
  boost::asio::signal_set signals_{io_};
  boost::asio::steady_timer grace_timer_{io_};
  stop_handler begin_;
  deadline_handler at_deadline_;
  std::atomic<bool> stopping_{false};
  bool finished_{false};  // io thread only
  bool in_time_{true};    // io thread only
  std::chrono::steady_clock::time_point deadline_{};
};

}  // namespace danemq::runtime
