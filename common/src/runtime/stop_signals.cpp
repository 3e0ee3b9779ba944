#include "danemq/runtime/stop_signals.hpp"

#include <poll.h>
#include <pthread.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace danemq::runtime {

stop_signals::stop_signals() {
  sigset_t stops;
  sigemptyset(&stops);
  sigaddset(&stops, SIGINT);
  sigaddset(&stops, SIGTERM);
  if (const int rc = pthread_sigmask(SIG_BLOCK, &stops, &old_mask_); rc != 0) {
    throw std::system_error(rc, std::generic_category(), "cannot block SIGINT/SIGTERM");
  }
  signal_fd_ = ::signalfd(-1, &stops, SFD_CLOEXEC | SFD_NONBLOCK);
  if (signal_fd_ < 0) {
    const int saved = errno;
    (void)pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
    throw std::system_error(saved, std::generic_category(), "signalfd");
  }
}

stop_signals::~stop_signals() {
  (void)::close(signal_fd_);
  (void)pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
}

int stop_signals::wait(std::chrono::milliseconds timeout, std::optional<int> fd) {
  readable_ = false;
  if (received_ != 0) return received_;
  pollfd fds[2] = {{signal_fd_, POLLIN, 0}, {fd.value_or(-1), POLLIN, 0}};
  const int ready = ::poll(fds, fd ? 2 : 1, static_cast<int>(timeout.count()));
  if (ready <= 0) return 0;  // timeout, or EINTR from another signal: the caller polls again
  if ((fds[0].revents & POLLIN) != 0) {
    signalfd_siginfo info{};
    if (::read(signal_fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
      received_ = static_cast<int>(info.ssi_signo);
    }
  }
  readable_ = fd && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0;
  return received_;
}

}  // namespace danemq::runtime
