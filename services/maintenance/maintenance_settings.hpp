#pragma once
// danemq-maintenance's settings and their tables: those every subcommand
// reads (IDENTITY_NAME, CRYPTO_PATH, APP_UID, the certificate subject,
// LOG_FORMAT), those of the DNS subcommands (DANE discovery's, and the
// dynamic update's DNS_UPDATE_SERVER, DNS_UPDATE_TSIG) and watch's
// WATCH_INTERVAL. Loaded once, immutable afterwards. Kept apart from the CLI
// so the README's table is generated without compiling CLI11.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include "danemq/config/options.hpp"
#include "danemq/dane/discovery.hpp"
#include "danemq/identity/certificate.hpp"
#include "danemq/pkcs11/token_key.hpp"

namespace danemq::maintenance {

/// Settings shared by every subcommand, from the original's environment
/// variables, each overridable by a flag.
struct settings {
  std::string identity_name;                        ///< IDENTITY_NAME, canonical after validation
  std::filesystem::path crypto_path{"/identity/"};  ///< CRYPTO_PATH
  std::optional<uid_t> app_uid;                     ///< APP_UID: owner of the files written
  identity::subject_fields subject;                 ///< COUNTRY, STATE, LOCALITY, ORGANIZATION
  std::string log_format{"text"};                   ///< LOG_FORMAT
  /// IDENTITY_KEY_URI, PKCS11_MODULE, PKCS11_PIN_FILE: the key in a token.
  pkcs11::token_settings identity_key{};
};

/// The settings of the DNS subcommands (check, lookup, publish-tlsa).
struct dns_settings {
  dane::discovery_config discovery{};
  std::string update_server{};  ///< DNS_UPDATE_SERVER: ip[:port] of the primary accepting updates
  std::string update_tsig{};    ///< DNS_UPDATE_TSIG: algorithm:keyname:base64secret (secret)
  /// DNS_UPDATE_TSIG_FILE: a file holding the same text; read when it is
  /// used, so the secret is neither in the environment nor on the command line.
  std::filesystem::path update_tsig_file{};
  /// TLSA_TTL: the TTL `publish-tlsa` (its --ttl) and `rotate` publish with,
  /// and the one `rotate commit` waits for after the next key was published.
  unsigned tlsa_ttl{3600};
};

/// The settings of `rotate` and of the rotation `watch` drives.
struct rotation_settings {
  /// MESSAGE_MAX_AGE: the receivers' acceptance horizon; `rotate finish`
  /// waits this long after `commit`, and the previous key is kept this long
  /// (plus TLSA_TTL) after `finish`.
  std::chrono::seconds max_age{std::chrono::days(7)};
  /// ROTATE_AFTER: `watch` begins a rotation when the current certificate is
  /// this old (its notBefore), and drives it to the end; zero: never.
  std::chrono::seconds rotate_after{0};
};

/// The settings of `watch`.
struct watch_settings {
  unsigned interval_seconds{300};  ///< WATCH_INTERVAL / watch --interval: seconds between checks
};

/// The rows of `settings`; errors name the variable alone (config::naming::variable).
[[nodiscard]] config::option_table<settings> maintenance_options();

/// DANE discovery's rows and the dynamic update's.
[[nodiscard]] config::option_table<dns_settings> dns_options();

/// MESSAGE_MAX_AGE (the receiver's row) and ROTATE_AFTER.
[[nodiscard]] config::option_table<rotation_settings> rotation_options();

/// The row of `watch --interval`.
[[nodiscard]] config::option_table<watch_settings> watch_options();

}  // namespace danemq::maintenance
