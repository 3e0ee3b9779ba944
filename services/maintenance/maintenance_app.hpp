#pragma once
// danemq-maintenance: creates a device identity (key + self-signed
// certificate or CSR) in the identity volume and prints its TLSA record.
// DNS subcommands (check, lookup, publish-tlsa) are registered from
// dns_commands.hpp.

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "danemq/config/cli_binding.hpp"
#include "danemq/core/result.hpp"
#include "danemq/identity/certificate.hpp"
#include "danemq/identity/identity_files.hpp"
#include "danemq/identity/key.hpp"
#include "maintenance_settings.hpp"

namespace danemq::maintenance {

/// Exit codes of danemq-maintenance (documented in the README).
enum exit_code : int {
  exit_success = 0,
  exit_usage = 1,           ///< bad flag, missing or invalid setting (IDENTITY_NAME, ...)
  exit_identity_files = 2,  ///< identity files: exist without --force, unreadable, corrupt, mismatched, unwritable
  exit_dns_mismatch = 3,    ///< DNS does not (securely) publish the local identity, or a DNS operation failed
  exit_not_yet = 4,         ///< not yet: a rotation phase waits for DNS or for time to pass (says what and until when)
};

/// What the local identity volume holds, for `check` and `watch`.
struct local_report {
  std::string key_type;  ///< "rsa-2048", "ec-p256"
  std::string common_name;
  std::vector<std::string> dns_names;  ///< SubjectAltName dNSName entries
  std::chrono::system_clock::time_point not_after;
  std::chrono::days remaining{0};
  std::vector<std::string> warnings;  ///< expiry soon, name not in SAN, ...
};

/// Certificates closer than this to expiry are reported by `check`.
inline constexpr std::chrono::days expiry_warning{30};

class maintenance_app {
 public:
  /// Output (TLSA records, reports) goes to `out`, one-line errors to `err`.
  maintenance_app(std::ostream& out, std::ostream& err);

  /// Parses argv (the original's command names — create_selfsigned_id,
  /// create_id_csr, generate_tlsa — as argv[0] select their subcommand), runs
  /// the subcommand and returns its exit code. Never throws.
  int run(int argc, char** argv);

  /// The CLI, for modules that register more subcommands (dns_commands).
  CLI::App& cli() { return cli_; }
  /// The settings, valid once run() has parsed and validated them.
  [[nodiscard]] const settings& config() const { return settings_; }
  /// The DNS subcommands' settings (dns_options()), as given; the failure
  /// names the setting. Valid once run() has parsed the command line.
  [[nodiscard]] result<dns_settings> dns_config() const;
  /// The rotation's settings (rotation_options()), likewise.
  [[nodiscard]] result<rotation_settings> rotation_config() const;
  std::ostream& out() { return out_; }
  std::ostream& err() { return err_; }

  /// Prints "error: <message>" to err and returns `code`.
  int error(exit_code code, const std::string& message);

  /// True when `flag` (as --flag or --flag=value) is on the command line, as
  /// opposed to coming from the environment: what `ps` shows.
  [[nodiscard]] bool on_command_line(std::string_view flag) const;

  /// Loads and describes the local identity; failure from the identity module.
  [[nodiscard]] result<local_report> describe_local_identity() const;

  /// Adds a subcommand whose action runs after settings are validated; the
  /// action returns the exit code. A command with `needs_identity` false
  /// (lookup of another name) runs without IDENTITY_NAME.
  CLI::App* add_command(const std::string& name, const std::string& description, std::function<int()> action,
                        bool needs_identity = true);
  /// For nested subcommands (rotate begin): from a CLI11 callback, the action to run.
  void set_action(std::function<int()> action, bool needs_identity = true) {
    action_ = std::move(action);
    action_needs_identity_ = needs_identity;
  }

 private:
  int create_selfsigned_id();
  int create_id_csr();
  int generate_tlsa();
  [[nodiscard]] result<void> validate_settings();
  [[nodiscard]] result<void> ensure_crypto_path() const;
  [[nodiscard]] result<crypto::unique_evp_pkey> existing_or_new_key(bool& created);
  /// IDENTITY_KEY_URI, or --key-uri of the create commands.
  [[nodiscard]] pkcs11::token_settings token_key() const;
  /// create-selfsigned-id / create-id-csr with the key in a token.
  int create_in_token(bool csr_only);

  std::ostream& out_;
  std::ostream& err_;
  CLI::App cli_;
  config::option_binding<settings> binding_;
  config::option_binding<dns_settings> dns_binding_;
  config::option_binding<rotation_settings> rotation_binding_;
  settings settings_;
  std::function<int()> action_;
  bool action_needs_identity_{true};
  std::vector<std::string> arguments_;  ///< argv as run() received it

  // Subcommand options.
  std::string key_type_text_{"rsa-2048"};
  std::string key_uri_text_;  ///< --key-uri of the create commands
  int validity_days_{static_cast<int>(identity::default_validity.count())};
  bool force_{false};
  int usage_{3};
  int selector_{0};
  int matching_{0};
};

}  // namespace danemq::maintenance
