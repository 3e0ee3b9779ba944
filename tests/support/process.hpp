#pragma once
// The test rig's process tools: temporary directories, free loopback ports,
// child processes that are always stopped (also when a test fails), and
// one-shot commands with their output.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace danemq::test {

/// A fresh directory under $TMPDIR, removed with its contents on destruction.
class temp_dir {
 public:
  explicit temp_dir(const std::string& prefix = "danemq-test");
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

/// A TCP+UDP port free on 127.0.0.1 right now, in 20000-31999 (outside the
/// kernel's ephemeral range); each call in a process returns a different one.
[[nodiscard]] unsigned short free_port();

/// True once something accepts TCP connections on host:port, false after `timeout`.
[[nodiscard]] bool wait_for_tcp_port(const std::string& host, unsigned short port,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(10));

/// A child process started with execvp. Its stdout and stderr go to files
/// (read them with output()/errors()). The destructor sends SIGTERM, waits up
/// to 3 s, then SIGKILLs: a failing test never leaves a server behind.
class child_process {
 public:
  /// `env` entries are added to (or replace in) the current environment.
  child_process(std::vector<std::string> argv, std::map<std::string, std::string> env = {},
                std::optional<std::filesystem::path> workdir = std::nullopt);
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  [[nodiscard]] pid_t pid() const { return pid_; }
  /// Sends `signal` (e.g. SIGKILL) without waiting.
  void signal(int signal) const;
  /// Waits up to `timeout` for the process to exit; its exit status (or 128+signal) if it did.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  /// SIGTERM, then SIGKILL after `grace`; returns the exit status.
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(3));
  [[nodiscard]] bool running();
  /// Everything the process wrote to stdout / stderr so far.
  [[nodiscard]] std::string output() const;
  [[nodiscard]] std::string errors() const;
  /// Waits until stdout (or stderr when `on_stderr`) contains `text`; false after `timeout`.
  [[nodiscard]] bool wait_for_output(const std::string& text, std::chrono::milliseconds timeout,
                                     bool on_stderr = false) const;

 private:
  pid_t pid_{-1};
  std::optional<int> status_;
  std::filesystem::path stdout_path_;
  std::filesystem::path stderr_path_;
};

struct command_result {
  int exit_code{-1};  ///< exit status, or 128+signal
  std::string out;
  std::string err;
};

/// Runs a command to completion (killed after `timeout`), feeding `input` on stdin.
[[nodiscard]] command_result run_command(const std::vector<std::string>& argv,
                                         const std::map<std::string, std::string>& env = {},
                                         const std::string& input = {},
                                         std::chrono::milliseconds timeout = std::chrono::seconds(60));

/// True when `program` is found on PATH (or is an executable path).
[[nodiscard]] bool have_program(const std::string& program);

/// The directory holding the built service executables (danemq-maintenance, ...).
[[nodiscard]] std::filesystem::path binary_dir();

}  // namespace danemq::test
