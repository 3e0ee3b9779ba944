#pragma once
// A real Mosquitto broker for tests: started on a free loopback port with a
// generated configuration (persistence on, optionally TLS with a client
// certificate requirement, certificates made for the test), stopped on
// destruction, and able to be killed and restarted on the same port.

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "support/process.hpp"

namespace danemq::test {

/// Certificates made for one broker: a CA, the broker's certificate (for
/// "localhost" and 127.0.0.1) and a client certificate signed by that CA.
struct broker_tls_files {
  std::filesystem::path ca_cert;
  std::filesystem::path server_cert;
  std::filesystem::path server_key;
  std::filesystem::path client_cert;
  std::filesystem::path client_key;
  /// A CA and client certificate the broker does not trust.
  std::filesystem::path stranger_ca_cert;
  std::filesystem::path stranger_client_cert;
  std::filesystem::path stranger_client_key;
};

/// Makes the files above under `dir` with the openssl CLI (EC P-256, quick).
[[nodiscard]] broker_tls_files make_broker_tls_files(const std::filesystem::path& dir);

struct mosquitto_rig_options {
  bool tls{false};                         ///< listen with TLS (broker_tls_files)
  bool require_client_certificate{false};  ///< mutual TLS
  bool persistence{true};                  ///< keep sessions and queued messages across restarts
  /// Save the persistence file after every change rather than periodically,
  /// so that a SIGKILL loses as little as Mosquitto allows.
  bool autosave_on_every_change{true};
  std::optional<std::pair<std::string, std::string>> user{};  ///< require this user name and password
  std::string extra_config{};                                 ///< appended to the configuration
};

class mosquitto_rig {
 public:
  explicit mosquitto_rig(mosquitto_rig_options options = {});
  ~mosquitto_rig();
  mosquitto_rig(const mosquitto_rig&) = delete;
  mosquitto_rig& operator=(const mosquitto_rig&) = delete;

  /// Host name clients use: "localhost" (the TLS certificate's name).
  [[nodiscard]] std::string host() const { return "localhost"; }
  [[nodiscard]] unsigned short port() const { return port_; }
  [[nodiscard]] const broker_tls_files& tls() const { return tls_; }
  [[nodiscard]] const std::filesystem::path& dir() const { return dir_.path(); }

  /// Starts the broker (again) on the same port and waits until it listens.
  void start();
  /// SIGKILL: no chance to save anything.
  void kill();
  /// SIGTERM: Mosquitto saves its persistence file and exits.
  void stop();
  [[nodiscard]] bool running() const;
  /// The broker's log (all runs).
  [[nodiscard]] std::string log() const;

 private:
  void write_config() const;
  mosquitto_rig_options options_;
  temp_dir dir_{"danemq-mosquitto"};
  unsigned short port_;
  broker_tls_files tls_;
  std::unique_ptr<child_process> process_;
};

}  // namespace danemq::test
