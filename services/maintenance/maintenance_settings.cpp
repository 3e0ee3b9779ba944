#include "maintenance_settings.hpp"

#include <algorithm>

#include "danemq/config/service_settings.hpp"
#include "danemq/dane/dns_update.hpp"
#include "danemq/identity/dns_name.hpp"

namespace danemq::maintenance {
namespace {

/// "'<text>' <reason>": the variable-only naming leaves quoting the value to the row.
result<void> refused(std::string_view text, const std::string& reason) {
  return config::invalid("'" + std::string(text) + "' " + reason);
}

/// A certificate subject field, any text.
config::option<settings> subject_row(std::string env, std::string flag, std::string help,
                                     std::string identity::subject_fields::*field) {
  return {.env = std::move(env),
          .flag = std::move(flag),
          .value = config::any_text<settings>([field](auto& s) -> auto& { return s.subject.*field; }),
          .help = std::move(help)};
}

}  // namespace

config::option_table<settings> maintenance_options() {
  using S = settings;
  // In the order of the checks before this table existed: the first bad
  // setting named is the same.
  config::option_table<S> table{
      {.env = "IDENTITY_NAME",
       .flag = "--identity-name",
       .value = {.apply = [](S& s, std::string_view text) -> result<void> {
                   if (text.empty()) return ok();  // required or not, as the subcommand says
                   auto name = identity::canonical_dns_name(text);
                   if (!name) return config::invalid(name.error().message());
                   s.identity_name = *name;
                   return ok();
                 },
                 .show = [](const S& s) { return s.identity_name; },
                 .type_name = "NAME"},
       .help = "DNS name of this device's identity (not needed by `lookup`)",
       .required = true,
       .original = true},
      {.env = "CRYPTO_PATH",
       .flag = "--crypto-path",
       .value = {.apply = [](S& s, std::string_view text) -> result<void> {
                   s.crypto_path = std::string(text);
                   return ok();
                 },
                 .show = [](const S& s) { return s.crypto_path.string(); },
                 .type_name = "DIR"},
       .help = "directory of `<name>.key.pem`, `<name>.crt.pem`, `<name>.csr.pem`",
       .original = true},
      {.env = "APP_UID",
       .flag = "--app-uid",
       .value = {.apply = [](S& s, std::string_view text) -> result<void> {
                   if (text.empty()) return ok();
                   const bool digits =
                       std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
                   if (!digits || text.size() > 9) return refused(text, "is not a numeric user id");
                   s.app_uid = static_cast<uid_t>(std::stoul(std::string(text)));
                   return ok();
                 },
                 .show = [](const S& s) { return s.app_uid ? std::to_string(*s.app_uid) : std::string(); },
                 .type_name = "UID"},
       .help = "the user that owns the files written",
       .original = true},
      {.env = "LOG_FORMAT",
       .flag = "--log-format",
       .value = {.apply = [](S& s, std::string_view text) -> result<void> {
                   if (text != "text" && text != "json") return refused(text, "(expected text or json)");
                   s.log_format = std::string(text);
                   return ok();
                 },
                 .show = [](const S& s) { return s.log_format; },
                 .type_name = "FORMAT"},
       .help = "`text` or `json` (one object per line)"},
      {.env = "COUNTRY",
       .flag = "--country",
       .value = {.apply = [](S& s, std::string_view text) -> result<void> {
                   if (text.size() != 2) return refused(text, "is not a two-letter code");
                   s.subject.country = std::string(text);
                   return ok();
                 },
                 .show = [](const S& s) { return s.subject.country; },
                 .type_name = "CODE"},
       .help = "certificate subject C"},
  };
  table.push_back(subject_row("STATE", "--state", "certificate subject ST", &identity::subject_fields::state));
  table.push_back(subject_row("LOCALITY", "--locality", "certificate subject L", &identity::subject_fields::locality));
  table.push_back(
      subject_row("ORGANIZATION", "--organization", "certificate subject O", &identity::subject_fields::organization));
  config::append(table, config::lift(config::token_key_options(), &S::identity_key));
  return table;
}

config::option_table<dns_settings> dns_options() {
  using S = dns_settings;
  auto table = config::lift(config::discovery_options(), &S::discovery);
  config::append(table, {
                            {.env = "DNS_UPDATE_SERVER",
                             .flag = "--dns-update-server",
                             .value = {.apply = [](S& s, std::string_view text) -> result<void> {
                                         if (text.empty()) return ok();
                                         auto server = dane::parse_server_address(text);
                                         if (!server) return config::invalid(server.error().detail);
                                         s.update_server = std::string(text);
                                         return ok();
                                       },
                                       .show = [](const S& s) { return s.update_server; },
                                       .type_name = "IP[:PORT]"},
                             .help = "`ip[:port]` of the DNS server that accepts updates (`publish-tlsa`)"},
                            {.env = "DNS_UPDATE_TSIG",
                             .flag = "--dns-update-tsig",
                             .value = {.apply = [](S& s, std::string_view text) -> result<void> {
                                         if (text.empty()) return ok();
                                         auto key = dane::parse_tsig_key(text);
                                         if (!key) return config::invalid(key.error().detail);
                                         s.update_tsig = std::string(text);
                                         return ok();
                                       },
                                       .show = [](const S& s) { return s.update_tsig; }},
                             .help = "`algorithm:keyname:base64secret` that signs the updates (secret; prefer "
                                     "DNS_UPDATE_TSIG_FILE: a flag shows in `ps`)",
                             .secret = true},
                            {.env = "DNS_UPDATE_TSIG_FILE",
                             .flag = "--dns-update-tsig-file",
                             .value = config::readable_file<S>(&S::update_tsig_file),
                             .help = "file holding the TSIG key as `algorithm:keyname:base64secret`, mode 0600"},
                            {.env = "TLSA_TTL",
                             .flag = "--tlsa-ttl",
                             .value = config::count_in<S>(&S::tlsa_ttl, 1, 86400),
                             .help = "TTL of the TLSA records `publish-tlsa` (its `--ttl`) and `rotate` publish; "
                                     "`rotate commit` waits this long after the next key is seen published"},
                        });
  return table;
}

config::option_table<rotation_settings> rotation_options() {
  using S = rotation_settings;
  return {
      config::message_max_age_option<S>(&S::max_age),
      {.env = "ROTATE_AFTER",
       .flag = "--rotate-after",
       .value = config::duration_in<S>(&S::rotate_after, std::chrono::seconds(0), std::chrono::days(3650)),
       .help = "`watch` rotates the key (begin, commit, finish, each when due) once the certificate is this old "
               "(e.g. `180d`), when DNS updates are configured; 0: never",
       .unset = "never"},
  };
}

config::option_table<watch_settings> watch_options() {
  using S = watch_settings;
  auto interval = config::count_in<S>(&S::interval_seconds, 1, 86400);
  // The variable-only naming: the value is quoted here.
  interval.apply = [parse = interval.apply](S& s, std::string_view text) -> result<void> {
    auto applied = parse(s, text);
    if (!applied) return refused(text, applied.error().detail);
    return ok();
  };
  return {
      {.env = "WATCH_INTERVAL",
       .flag = "--interval",
       .command = "watch",
       .value = std::move(interval),
       .help = "seconds between the checks of `watch`"},
  };
}

}  // namespace danemq::maintenance
