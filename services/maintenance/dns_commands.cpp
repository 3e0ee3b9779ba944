#include "dns_commands.hpp"

#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>

#include "danemq/config/cli_binding.hpp"
#include "danemq/crypto/openssl.hpp"
#include "danemq/dane/discovery.hpp"
#include "danemq/dane/dns_update.hpp"
#include "danemq/dane/trust.hpp"
#include "danemq/identity/dns_name.hpp"
#include "danemq/identity/identity_files.hpp"
#include "danemq/identity/tlsa_record.hpp"
#include "lookup_report.hpp"
#include "tlsa_publication.hpp"

namespace danemq::maintenance {
namespace {

/// Why no danemq peer can use `record` to encrypt to this identity, or
/// nothing when one can: peers need the key itself in DNS (trust.hpp).
std::optional<std::string> unusable_by_peers(const identity::tlsa_record& record) {
  if (record.matching != identity::tlsa::exact) {
    return "a hash record (matching type " + std::to_string(record.matching) +
           ") carries no key: danemq peers cannot encrypt to it (use --matching 0)";
  }
  switch (record.usage) {
    case identity::tlsa::dane_ee: return std::nullopt;
    case identity::tlsa::pkix_ee:
    case identity::tlsa::pkix_cd:
      if (record.selector == identity::tlsa::full_certificate) return std::nullopt;
      return "usage " + std::to_string(record.usage) + " needs the whole certificate (--selector 0)";
    default: return "usage " + std::to_string(record.usage) + " (a trust anchor) is not used for danemq identities";
  }
}

/// State of the DNS subcommands, alive as long as the CLI (owned by its callbacks).
class dns_commands {
 public:
  explicit dns_commands(maintenance_app& app) : app_(app) {}

  int check() {
    auto settings = load();
    if (!settings) return app_.error(exit_usage, settings.error().detail);
    const auto& name = app_.config().identity_name;
    auto local = identity::load_local_identity(app_.config().crypto_path, name, app_.config().identity_key);
    if (!local) return app_.error(exit_identity_files, local.error().message());
    auto described = app_.describe_local_identity();
    if (!described) return app_.error(exit_identity_files, described.error().message());
    auto source = dane::discovery::create(settings->discovery);
    if (!source) return app_.error(exit_usage, source.error().message());

    auto& out = app_.out();
    const auto report = report_lookup(**source, name);
    std::vector<bool> matches;
    bool agree = false;
    for (const auto& record : report.records) {
      // Agreement: peers can use what DNS publishes (no verdict against it) and
      // a usable record (secure, or PKIX-CD verified) matches the local certificate.
      matches.push_back(!record.record.data.empty() &&
                        dane::record_matches_certificate(record.record, *local->certificate));
      if (matches.back() && !record.problem) agree = true;
    }
    const auto verdict = verdict_of(report);
    const bool in_dns = agree && verdict == verdict_kind::trusted;
    if (json_) {
      auto object = nlohmann::json::parse(report_json(report));
      object["local"] = {{"name", name},
                         {"key_type", described->key_type},
                         {"days_left", described->remaining.count()},
                         {"warnings", described->warnings}};
      for (std::size_t i = 0; i < matches.size(); ++i) object["records"][i]["matches_local"] = matches[i];
      object["ok"] = in_dns;
      out << object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    } else {
      out << "Local identity: " << name << " (" << described->key_type << "), certificate valid for "
          << described->remaining.count() << " more days\n";
      for (const auto& warning : described->warnings) out << "  warning: " << warning << "\n";
      out << format_report(report);
      for (std::size_t i = 0; i < matches.size(); ++i) {
        out << "  [" << i << "] " << (matches[i] ? "matches" : "does not match") << " the local certificate\n";
      }
    }
    if (in_dns) {
      if (!json_) {
        out << "Check: DNS publishes the local identity"
            << (report.dnssec.status == dane::dnssec_status::secure ? " securely (DNSSEC)" : " (PKIX-CD)") << "\n";
      }
      return exit_success;
    }
    std::string reason;
    if (verdict == verdict_kind::resolver_unreachable) {
      reason = "resolver unreachable: " + report.lookup_error->message();
    } else if (report.lookup_error) {
      reason = report.lookup_error->message();
    } else if (report.verdict) {
      reason = report.verdict->message();
    } else {
      reason = "no usable TLSA record matches the local certificate";
    }
    return app_.error(exit_dns_mismatch, "check failed for " + name + ": " + reason);
  }

  int lookup() {
    // Not a DNS name at all: a usage error, before any DNS (exit 3 is for what DNS says).
    if (auto name = identity::canonical_dns_name(lookup_name_); !name) {
      return app_.error(exit_usage, "lookup '" + lookup_name_ + "': " + name.error().message());
    }
    auto settings = load();
    if (!settings) return app_.error(exit_usage, settings.error().detail);
    auto source = dane::discovery::create(settings->discovery);
    if (!source) return app_.error(exit_usage, source.error().message());
    const auto report = report_lookup(**source, lookup_name_);
    app_.out() << (json_ ? report_json(report) + "\n" : format_report(report));
    switch (verdict_of(report)) {
      case verdict_kind::trusted: break;
      case verdict_kind::resolver_unreachable:
        return app_.error(exit_dns_mismatch,
                          "lookup of " + report.name + ": resolver unreachable: " + report.lookup_error->message());
      case verdict_kind::refused:
        return app_.error(exit_dns_mismatch,
                          "lookup of " + report.name + ": " +
                              (report.verdict        ? report.verdict->message()
                               : report.lookup_error ? report.lookup_error->message()
                                                     : std::string("no usable TLSA record carries a key")));
    }
    return exit_success;
  }

  int publish() {
    auto settings = load();
    if (!settings) return app_.error(exit_usage, settings.error().detail);
    if (settings->update_server.empty())
      return app_.error(exit_usage, "DNS_UPDATE_SERVER (--dns-update-server) is required");
    auto target = update_target_of(app_, *settings);
    if (!target) return app_.error(exit_usage, target.error().detail);
    const auto& name = app_.config().identity_name;
    // During a rotation the whole key set (current, next or previous), never only the current record.
    auto keys = identity::load_key_set(app_.config().crypto_path, name, app_.config().identity_key);
    if (!keys) return app_.error(exit_identity_files, keys.error().message());
    auto records =
        key_set_records(*keys, tlsa_parameters{static_cast<std::uint8_t>(usage_), static_cast<std::uint8_t>(selector_),
                                               static_cast<std::uint8_t>(matching_)});
    if (!records) return app_.error(exit_usage, records.error().message());
    for (const auto& record : *records) {
      if (auto unusable = unusable_by_peers(record)) {
        if (!force_) {
          return app_.error(exit_usage, "TLSA " + record.to_string().substr(0, 5) + ": " + *unusable +
                                            "; --force publishes it anyway");
        }
        app_.err() << "warning: TLSA " << record.to_string().substr(0, 5) << ": " << *unusable << "\n";
      }
    }
    const unsigned ttl = ttl_option_ != nullptr && ttl_option_->count() > 0 ? ttl_ : settings->tlsa_ttl;
    auto published = publish_records(app_, *target, name, *records, ttl);
    if (!published) return app_.error(exit_dns_mismatch, "publish-tlsa: " + published.error().message());
    app_.out() << "(run `check` to see it through the resolver, which may keep an earlier answer for its TTL)\n";
    if (auto zone = *target ? dane::zone_of(**target, name) : result<std::string>(fail(dane::errc::nodata, "")); zone) {
      auto is_signed = dane::zone_is_signed(**target, *zone);
      if (is_signed && !*is_signed) {
        app_.err() << "warning: the zone " << *zone
                   << " is not signed (no DNSKEY): peers will not trust this record until it is signed with DNSSEC\n";
      }
    }
    return exit_success;
  }

  void add_subcommands(const std::shared_ptr<dns_commands>& self) {
    auto* check =
        app_.add_command("check", "Report what DNS publishes for this identity; exit 0 only if it matches securely",
                         [self] { return self->check(); });
    check->add_flag("--json", json_, "the report as one JSON object");
    auto* lookup = app_.add_command(
        "lookup", "Report the TLSA records DNS publishes for any name", [self] { return self->lookup(); },
        /*needs_identity=*/false);
    lookup->add_option("name", lookup_name_, "DNS name to look up")->required()->type_name("NAME");
    lookup->add_flag("--json", json_, "the report as one JSON object");
    auto* publish = app_.add_command("publish-tlsa", "Publish this identity's TLSA record by signed dynamic update",
                                     [self] { return self->publish(); });
    publish->add_option("--usage", usage_, "Certificate usage (3 = DANE-EE, 4 = PKIX-CD)")
        ->check(CLI::Range(0, 4))
        ->capture_default_str();
    publish->add_option("--selector", selector_, "Selector (0 = certificate, 1 = public key)")
        ->check(CLI::Range(0, 1))
        ->capture_default_str();
    publish->add_option("--matching", matching_, "Matching type (0 = exact, 1 = SHA-256, 2 = SHA-512)")
        ->check(CLI::Range(0, 2))
        ->capture_default_str();
    publish->add_flag("--force", force_, "Publish a record no danemq peer can use (e.g. a hash record)");
    ttl_option_ = publish->add_option("--ttl", ttl_, "TTL of the records, in seconds [default: TLSA_TTL]")
                      ->check(CLI::Range(1, 86400));
  }

 private:
  result<dns_settings> load() const { return app_.dns_config(); }

  maintenance_app& app_;
  std::string lookup_name_;
  int usage_{3};
  int selector_{0};
  int matching_{0};
  unsigned ttl_{3600};
  CLI::Option* ttl_option_{nullptr};
  bool force_{false};
  bool json_{false};
};

}  // namespace

void register_dns_commands(maintenance_app& app) {
  auto commands = std::make_shared<dns_commands>(app);
  commands->add_subcommands(commands);
}

}  // namespace danemq::maintenance
