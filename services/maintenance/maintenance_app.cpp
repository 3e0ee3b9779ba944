#include "maintenance_app.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <iomanip>
#include <map>
#include <ostream>
#include <sstream>

#include "danemq/config/version.hpp"
#include "danemq/core/utc_time.hpp"
#include "danemq/identity/dns_name.hpp"
#include "danemq/identity/tlsa_record.hpp"
#include "danemq/runtime/setting_wait.hpp"
#include "dns_commands.hpp"
#include "mqtt_token_command.hpp"
#include "rotate_command.hpp"
#include "watch_command.hpp"

namespace danemq::maintenance {
namespace {

/// The original's command names, installed as aliases of the subcommands.
const std::map<std::string, std::string>& command_aliases() {
  static const std::map<std::string, std::string> aliases = {
      {"create_selfsigned_id", "create-selfsigned-id"},
      {"create_id_csr", "create-id-csr"},
      {"generate_tlsa", "generate-tlsa"},
  };
  return aliases;
}

std::string format_date(std::chrono::system_clock::time_point when) {
  return core::readable_utc(when);
}

bool file_exists(const std::filesystem::path& path) {
  struct stat info {};
  return lstat(path.c_str(), &info) == 0;
}

}  // namespace

maintenance_app::maintenance_app(std::ostream& out, std::ostream& err)
    : out_(out),
      err_(err),
      cli_("Creates a danemq device identity and publishes it as a DANE TLSA record.", "danemq-maintenance"),
      binding_(cli_, maintenance_options(), config::naming::variable),
      dns_binding_(cli_, dns_options()),
      rotation_binding_(cli_, rotation_options()) {
  cli_.require_subcommand(1);
  cli_.fallthrough();
  cli_.set_help_all_flag("--help-all", "Show help for every subcommand");
  cli_.set_version_flag("--version", config::version_text("danemq-maintenance"),
                        "Print the version and those of the libraries");

  auto* selfsigned = add_command("create-selfsigned-id", "Create a private key and a self-signed certificate",
                                 [this] { return create_selfsigned_id(); });
  selfsigned->alias("create_selfsigned_id");
  selfsigned->add_option("--key-type", key_type_text_, "rsa-2048 or ec-p256")->capture_default_str();
  selfsigned->add_option("--days", validity_days_, "Certificate validity in days")
      ->check(CLI::Range(1, 36500))
      ->capture_default_str();
  selfsigned->add_flag("--force", force_, "Replace an existing key and certificate");
  selfsigned->add_option("--key-uri", key_uri_text_,
                         "Make the key inside this PKCS#11 token object (RFC 7512 URI) instead of a key file");

  auto* csr = add_command("create-id-csr", "Create a CSR for an external CA (reuses an existing key)",
                          [this] { return create_id_csr(); });
  csr->alias("create_id_csr");
  csr->add_option("--key-type", key_type_text_, "rsa-2048 or ec-p256, for a new key")->capture_default_str();
  csr->add_flag("--force", force_, "Make a new key even if one exists");
  csr->add_option("--key-uri", key_uri_text_, "Use, or make, the key in this PKCS#11 token object (RFC 7512 URI)");

  auto* tlsa = add_command("generate-tlsa", "Print the TLSA record of the identity's certificate",
                           [this] { return generate_tlsa(); });
  tlsa->alias("generate_tlsa");
  tlsa->add_option("--usage", usage_, "Certificate usage (0-4; 3 = DANE-EE)")
      ->check(CLI::Range(0, 4))
      ->capture_default_str();
  tlsa->add_option("--selector", selector_, "Selector (0 = certificate, 1 = public key)")
      ->check(CLI::Range(0, 1))
      ->capture_default_str();
  tlsa->add_option("--matching", matching_, "Matching type (0 = exact, 1 = SHA-256, 2 = SHA-512)")
      ->check(CLI::Range(0, 2))
      ->capture_default_str();

  register_dns_commands(*this);
  register_rotate_commands(*this);
  register_watch_command(*this);
  register_mqtt_token_command(*this);
}

result<dns_settings> maintenance_app::dns_config() const {
  dns_settings dns;
  if (auto applied = dns_binding_.apply(dns); !applied) return applied.error();
  return dns;
}

result<rotation_settings> maintenance_app::rotation_config() const {
  rotation_settings rotation;
  if (auto applied = rotation_binding_.apply(rotation); !applied) return applied.error();
  return rotation;
}

CLI::App* maintenance_app::add_command(const std::string& name, const std::string& description,
                                       std::function<int()> action, bool needs_identity) {
  auto* command = cli_.add_subcommand(name, description);
  command->callback([this, action = std::move(action), needs_identity] {
    action_ = action;
    action_needs_identity_ = needs_identity;
  });
  return command;
}

int maintenance_app::error(exit_code code, const std::string& message) {
  err_ << "error: " << message << '\n';
  return code;
}

bool maintenance_app::on_command_line(std::string_view flag) const {
  return std::any_of(arguments_.begin(), arguments_.end(), [flag](const std::string& argument) {
    return argument == flag ||
           (argument.starts_with(flag) && argument.size() > flag.size() && argument[flag.size()] == '=');
  });
}

int maintenance_app::run(int argc, char** argv) {
  arguments_.assign(argv, argv + argc);
  std::vector<std::string> args;
  const std::string program = argc > 0 ? std::filesystem::path(argv[0]).filename().string() : "danemq-maintenance";
  args.push_back(program);
  if (auto alias = command_aliases().find(program); alias != command_aliases().end()) args.push_back(alias->second);
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  std::vector<char*> pointers;
  pointers.reserve(args.size());
  for (auto& arg : args) pointers.push_back(arg.data());

  try {
    cli_.parse(static_cast<int>(pointers.size()), pointers.data());
  } catch (const CLI::CallForHelp& help) {
    return cli_.exit(help, out_, err_);
  } catch (const CLI::CallForAllHelp& help) {
    return cli_.exit(help, out_, err_);
  } catch (const CLI::CallForVersion& version) {
    return cli_.exit(version, out_, err_);
  } catch (const CLI::ParseError& parse_error) {
    if (auto unknown = config::unknown_subcommand(cli_)) return error(exit_usage, *unknown);
    return error(exit_usage, parse_error.what());
  }
  if (auto valid = validate_settings(); !valid) {
    // `watch` is long-running: without a required setting it waits rather
    // than exit into a restart loop; the other commands exit.
    if (cli_.got_subcommand("watch") && valid.error().code == make_error_code(config::errc::missing_setting)) {
      (void)runtime::wait_for_missing_setting(err_, "danemq-maintenance watch", valid.error().detail);
      return exit_usage;
    }
    return error(exit_usage, valid.error().detail);
  }
  if (!action_) return error(exit_usage, "no subcommand given (see --help)");
  try {
    return action_();
  } catch (const std::exception& unexpected) {
    return error(exit_identity_files, std::string("unexpected failure: ") + unexpected.what());
  }
}

result<void> maintenance_app::validate_settings() {
  return binding_.apply(settings_, action_needs_identity_);
}

result<void> maintenance_app::ensure_crypto_path() const {
  std::error_code ec;
  std::filesystem::create_directories(settings_.crypto_path, ec);
  if (ec) {
    return fail(identity::errc::file_unwritable, "CRYPTO_PATH " + settings_.crypto_path.string() + ": " + ec.message());
  }
  if (access(settings_.crypto_path.c_str(), W_OK | X_OK) != 0) {
    return fail(identity::errc::file_unwritable,
                "CRYPTO_PATH " + settings_.crypto_path.string() + " is not writable: " + std::strerror(errno));
  }
  return ok();
}

pkcs11::token_settings maintenance_app::token_key() const {
  auto token = settings_.identity_key;
  if (!key_uri_text_.empty()) token.key_uri = key_uri_text_;
  return token;
}

int maintenance_app::create_in_token(bool csr_only) {
  auto type = identity::parse_key_type(key_type_text_);
  if (!type) return error(exit_usage, "--key-type: " + type.error().message());
  const auto token = token_key();
  if (auto parsed = pkcs11::parse_uri(token.key_uri); !parsed) {
    return error(exit_usage, "IDENTITY_KEY_URI (--key-uri): " + parsed.error().detail);
  }
  if (auto writable = ensure_crypto_path(); !writable) return error(exit_identity_files, writable.error().detail);
  const auto paths = identity::identity_paths::of(settings_.crypto_path, settings_.identity_name);
  if (!csr_only && !force_ && file_exists(paths.certificate)) {
    return error(exit_identity_files, paths.certificate.string() + " already exists (use --force to replace it)");
  }
  const auto kind = *type == identity::key_type::ec_p256 ? crypto::key_kind::ec_p256 : crypto::key_kind::rsa;
  // A CSR reuses the token's key unless --force; a self-signed identity is a new key.
  result<pkcs11::token_key> key = fail(pkcs11::errc::key_not_found);
  if (csr_only && !force_) key = pkcs11::open_token_key(token);
  const bool created = !key && key.error().code == pkcs11::errc::key_not_found;
  if (created) key = pkcs11::generate_token_key(token, kind, force_);
  if (!key) return error(exit_identity_files, key.error().message());
  const crypto::private_key signer(*key->public_key, *key->operations);
  const std::string held_in = " (key in " + token.key_uri + (created ? ", new" : ", existing") + ")";
  if (csr_only) {
    auto csr = identity::make_csr(signer, settings_.identity_name, settings_.subject);
    if (!csr) return error(exit_identity_files, csr.error().message());
    auto written = identity::write_file_atomically(paths.csr, crypto::to_pem(**csr), 0600, settings_.app_uid, true);
    if (!written) return error(exit_identity_files, written.error().detail);
    out_ << "Created CSR for " << settings_.identity_name << ": " << paths.csr.string() << held_in << '\n';
    return exit_success;
  }
  auto cert = identity::make_self_signed_certificate(signer, settings_.identity_name, settings_.subject,
                                                     std::chrono::days(validity_days_));
  if (!cert) return error(exit_identity_files, cert.error().message());
  auto written =
      identity::write_file_atomically(paths.certificate, crypto::to_pem(**cert), 0644, settings_.app_uid, force_);
  if (!written) return error(exit_identity_files, written.error().detail);
  out_ << "Created identity " << settings_.identity_name << " ("
       << identity::to_string(kind == crypto::key_kind::ec_p256 ? identity::key_type::ec_p256
                                                                : identity::key_type::rsa_2048)
       << "): " << paths.certificate.string() << held_in << "; certificate valid until "
       << format_date(identity::not_after(**cert)) << '\n';
  return exit_success;
}

int maintenance_app::create_selfsigned_id() {
  if (!token_key().key_uri.empty()) return create_in_token(false);
  auto type = identity::parse_key_type(key_type_text_);
  if (!type) return error(exit_usage, "--key-type: " + type.error().message());
  if (auto writable = ensure_crypto_path(); !writable) return error(exit_identity_files, writable.error().detail);
  const auto paths = identity::identity_paths::of(settings_.crypto_path, settings_.identity_name);
  if (!force_) {
    for (const auto& path : {paths.key, paths.certificate}) {
      if (file_exists(path))
        return error(exit_identity_files, path.string() + " already exists (use --force to replace it)");
    }
  }
  auto key = identity::generate_key(*type);
  if (!key) return error(exit_identity_files, key.error().message());
  auto cert = identity::make_self_signed_certificate(**key, settings_.identity_name, settings_.subject,
                                                     std::chrono::days(validity_days_));
  if (!cert) return error(exit_identity_files, cert.error().message());

  std::string key_pem = crypto::private_key_to_pem(**key);
  auto key_written = identity::write_file_atomically(paths.key, key_pem, 0600, settings_.app_uid, force_);
  crypto::cleanse(key_pem);
  if (!key_written) return error(exit_identity_files, key_written.error().detail);
  auto cert_written =
      identity::write_file_atomically(paths.certificate, crypto::to_pem(**cert), 0644, settings_.app_uid, force_);
  if (!cert_written) {
    // Without the certificate the new key is useless and would block the next attempt.
    if (!force_) std::filesystem::remove(paths.key);
    return error(exit_identity_files, cert_written.error().detail);
  }
  out_ << "Created identity " << settings_.identity_name << " (" << identity::to_string(*type)
       << "): " << paths.key.string() << ", " << paths.certificate.string() << "; certificate valid until "
       << format_date(identity::not_after(**cert)) << '\n';
  return exit_success;
}

result<crypto::unique_evp_pkey> maintenance_app::existing_or_new_key(bool& created) {
  const auto paths = identity::identity_paths::of(settings_.crypto_path, settings_.identity_name);
  created = false;
  if (file_exists(paths.key) && !force_) return identity::load_private_key(paths.key);
  auto type = identity::parse_key_type(key_type_text_);
  if (!type) return type.error();
  created = true;
  return identity::generate_key(*type);
}

int maintenance_app::create_id_csr() {
  if (!token_key().key_uri.empty()) return create_in_token(true);
  if (auto writable = ensure_crypto_path(); !writable) return error(exit_identity_files, writable.error().detail);
  const auto paths = identity::identity_paths::of(settings_.crypto_path, settings_.identity_name);
  bool created = false;
  auto key = existing_or_new_key(created);
  if (!key) {
    const bool usage = key.error().code == identity::errc::bad_key_type;
    return error(usage ? exit_usage : exit_identity_files, key.error().message());
  }
  auto csr = identity::make_csr(**key, settings_.identity_name, settings_.subject);
  if (!csr) return error(exit_identity_files, csr.error().message());
  if (created) {
    std::string key_pem = crypto::private_key_to_pem(**key);
    auto written = identity::write_file_atomically(paths.key, key_pem, 0600, settings_.app_uid, force_);
    crypto::cleanse(key_pem);
    if (!written) return error(exit_identity_files, written.error().detail);
  }
  auto written = identity::write_file_atomically(paths.csr, crypto::to_pem(**csr), 0600, settings_.app_uid, true);
  if (!written) return error(exit_identity_files, written.error().detail);
  out_ << "Created CSR for " << settings_.identity_name << ": " << paths.csr.string()
       << (created ? " (new key " + paths.key.string() + ")" : " (existing key " + paths.key.string() + ")") << '\n';
  return exit_success;
}

int maintenance_app::generate_tlsa() {
  auto local = identity::load_local_identity(settings_.crypto_path, settings_.identity_name, settings_.identity_key);
  if (!local) return error(exit_identity_files, local.error().message());
  auto record = identity::make_tlsa_record(*local->certificate, static_cast<std::uint8_t>(usage_),
                                           static_cast<std::uint8_t>(selector_), static_cast<std::uint8_t>(matching_));
  if (!record) return error(exit_usage, record.error().message());
  out_ << "TLSA record for " << settings_.identity_name << ": " << record->to_string() << '\n';
  out_ << identity::zone_file_line(settings_.identity_name, *record) << '\n';
  return exit_success;
}

result<local_report> maintenance_app::describe_local_identity() const {
  auto local = identity::load_local_identity(settings_.crypto_path, settings_.identity_name, settings_.identity_key);
  if (!local) return local.error();
  local_report report;
  const auto kind = crypto::kind_of(*local->key);
  report.key_type =
      kind == crypto::key_kind::ec_p256 ? "ec-p256" : "rsa-" + std::to_string(crypto::key_bits(*local->key));
  report.common_name = identity::subject_common_name(*local->certificate);
  report.dns_names = identity::subject_alt_dns_names(*local->certificate);
  report.not_after = identity::not_after(*local->certificate);
  report.remaining = std::chrono::floor<std::chrono::days>(report.not_after - std::chrono::system_clock::now());
  if (report.not_after <= std::chrono::system_clock::now()) {
    report.warnings.push_back(
        "certificate expired on " + format_date(report.not_after) +
        " (DANE-EE peers ignore dates, other tools do not: renew with create-selfsigned-id --force)");
  } else if (report.remaining < expiry_warning) {
    report.warnings.push_back("certificate expires in " + std::to_string(report.remaining.count()) + " days, on " +
                              format_date(report.not_after));
  }
  if (std::find(report.dns_names.begin(), report.dns_names.end(), settings_.identity_name) == report.dns_names.end()) {
    report.warnings.push_back("certificate SubjectAltName does not contain " + settings_.identity_name);
  }
  return report;
}

}  // namespace danemq::maintenance
