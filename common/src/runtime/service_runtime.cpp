#include "danemq/runtime/service_runtime.hpp"

#include <csignal>

#include <boost/asio/post.hpp>

namespace danemq::runtime {

service_runtime::service_runtime(std::chrono::milliseconds grace) : grace_(grace) {
  (void)std::signal(SIGPIPE, SIG_IGN);
  // Caught from now on: a signal before run() waits for it instead of killing the process.
  signals_.add(SIGINT);
  signals_.add(SIGTERM);
}

void service_runtime::on_stop(stop_handler begin, deadline_handler at_deadline) {
  begin_ = std::move(begin);
  at_deadline_ = std::move(at_deadline);
}

bool service_runtime::run() {
  signals_.async_wait([this](const boost::system::error_code& error, int signal) {
    if (!error) begin_stop(signal);
  });
  io_.run();
  return in_time_;
}

void service_runtime::request_stop() {
  boost::asio::post(io_, [this] { begin_stop(); });
}

void service_runtime::begin_stop(int signal) {
  if (stopping_.exchange(true)) return;
  deadline_ = std::chrono::steady_clock::now() + grace_;
  signals_.cancel();
  grace_timer_.expires_at(deadline_);
  grace_timer_.async_wait([this](const boost::system::error_code& error) {
    if (error || finished_) return;
    in_time_ = false;
    if (at_deadline_) at_deadline_();
    finish();
  });
  if (begin_) begin_(signal);
}

void service_runtime::finish() {
  if (finished_) return;
  finished_ = true;
  signals_.cancel();
  grace_timer_.cancel();
  io_.stop();
}

}  // namespace danemq::runtime
